# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chute_global_optspecs
    string join \n root= h/help V/version
end

function __fish_chute_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chute_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chute_using_subcommand
    set -l cmd (__fish_chute_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chute -n "__fish_chute_needs_command" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chute -n "__fish_chute_needs_command" -s V -l version -d 'Print version'
complete -c chute -n "__fish_chute_needs_command" -f -a "cluster" -d 'Create or inspect the cluster'
complete -c chute -n "__fish_chute_needs_command" -f -a "topic" -d 'Create, list, describe, alter and delete topics'
complete -c chute -n "__fish_chute_needs_command" -f -a "broker" -d 'List brokers; mark one down or up'
complete -c chute -n "__fish_chute_needs_command" -f -a "replicate" -d 'Bring follower replicas level with their leaders (once, or continuously with --follow)'
complete -c chute -n "__fish_chute_needs_command" -f -a "controller" -d 'Run the controller: follower sync, leader failover, ISR changes (one active, others standby)'
complete -c chute -n "__fish_chute_needs_command" -f -a "produce" -d 'Append records read from stdin (or --file) to a topic'
complete -c chute -n "__fish_chute_needs_command" -f -a "consume" -d 'Print records of a topic to stdout'
complete -c chute -n "__fish_chute_needs_command" -f -a "metrics" -d 'Partition, group, broker and controller figures in Prometheus\' text format (0.0.4)'
complete -c chute -n "__fish_chute_needs_command" -f -a "top" -d 'The cluster at a glance: partitions, groups and their lag, brokers, the controller'
complete -c chute -n "__fish_chute_needs_command" -f -a "offsets" -d 'Earliest and latest offsets per partition; a group\'s committed offsets, lag and owners'
complete -c chute -n "__fish_chute_needs_command" -f -a "group" -d 'List, describe and delete consumer groups'
complete -c chute -n "__fish_chute_needs_command" -f -a "dump" -d 'Print the batches and records of a segment file or partition directory'
complete -c chute -n "__fish_chute_needs_command" -f -a "verify" -d 'Check every partition: CRCs, indexes, offsets; --repair fixes what can be fixed'
complete -c chute -n "__fish_chute_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c chute -n "__fish_chute_needs_command" -f -a "generate-docs" -d 'Write man pages and completion scripts into a directory (used to refresh man/ and completions/)'
complete -c chute -n "__fish_chute_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand cluster; and not __fish_seen_subcommand_from init status config help" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand cluster; and not __fish_seen_subcommand_from init status config help" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand cluster; and not __fish_seen_subcommand_from init status config help" -f -a "init" -d 'Lay out a new cluster with N brokers'
complete -c chute -n "__fish_chute_using_subcommand cluster; and not __fish_seen_subcommand_from init status config help" -f -a "status" -d 'Show brokers and partition health'
complete -c chute -n "__fish_chute_using_subcommand cluster; and not __fish_seen_subcommand_from init status config help" -f -a "config" -d 'Cluster-wide settings (auto.create.topics)'
complete -c chute -n "__fish_chute_using_subcommand cluster; and not __fish_seen_subcommand_from init status config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from init" -l brokers -d 'Number of brokers' -r
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from init" -l broker-dir -d 'Put broker ID\'s data at PATH (another disk)' -r
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from init" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from status" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from status" -l json
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from status" -l check -d 'Exit 3 when a partition is offline or under-replicated, naming them on stderr'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from config" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from config" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from config" -f -a "set" -d 'Change settings: KEY=VALUE ... (KEY= goes back to the default)'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from config" -f -a "get" -d 'Print settings (all, or one) as KEY=VALUE lines; `(default)` marks those not set'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from config" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "init" -d 'Lay out a new cluster with N brokers'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show brokers and partition health'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "config" -d 'Cluster-wide settings (auto.create.topics)'
complete -c chute -n "__fish_chute_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "create" -d 'Create a topic'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "list" -d 'List topics'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "describe" -d 'Show a topic\'s config and partitions'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "alter" -d 'Add partitions or change configs'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "delete" -d 'Delete a topic and its data'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "elect-leaders" -d 'Give leadership back to each partition\'s preferred replica (the first) where it is in sync'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "reassign" -d 'Move a partition\'s replicas to other brokers while it is written to'
complete -c chute -n "__fish_chute_using_subcommand topic; and not __fish_seen_subcommand_from create list describe alter delete elect-leaders reassign help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from create" -s p -l partitions -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from create" -s r -l replication-factor -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from create" -s c -l config -d 'Topic config, e.g. retention=7d, segment.bytes=64MiB (repeatable)' -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from create" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from create" -l if-not-exists -d 'Succeed quietly when the topic already exists'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from list" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from list" -l json
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from describe" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from describe" -l json
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from alter" -s p -l partitions -d 'New partition count (can only grow)' -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from alter" -s c -l config -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from alter" -l delete-config -d 'Return a config key to its default (repeatable)' -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from alter" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from alter" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from delete" -l lock-timeout -d 'How long to wait for a writer holding a partition lock (exit 75 after: the topic is gone from metadata, and the next `topic create` or delete of it finishes the job)' -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from delete" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from elect-leaders" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from elect-leaders" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from reassign" -s p -l partition -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from reassign" -l replicas -d 'The new replica list, preferred leader first, e.g. 3,1,2' -r
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from reassign" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from reassign" -l no-wait -d 'Record the move and return; the controller carries it out'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from reassign" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a topic'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "list" -d 'List topics'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Show a topic\'s config and partitions'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "alter" -d 'Add partitions or change configs'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a topic and its data'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "elect-leaders" -d 'Give leadership back to each partition\'s preferred replica (the first) where it is in sync'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "reassign" -d 'Move a partition\'s replicas to other brokers while it is written to'
complete -c chute -n "__fish_chute_using_subcommand topic; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -f -a "list" -d 'Show each broker\'s directory and state'
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -f -a "add" -d 'Add a broker (at DIR, e.g. on a new disk; default <root>/brokers/<id>)'
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -f -a "down" -d 'Mark a broker down: the controller moves leadership away from it'
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -f -a "up" -d 'Clear the down mark'
complete -c chute -n "__fish_chute_using_subcommand broker; and not __fish_seen_subcommand_from list add down up help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from list" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from list" -l json
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from add" -l dir -r -F
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from add" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from down" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from up" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show each broker\'s directory and state'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a broker (at DIR, e.g. on a new disk; default <root>/brokers/<id>)'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from help" -f -a "down" -d 'Mark a broker down: the controller moves leadership away from it'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from help" -f -a "up" -d 'Clear the down mark'
complete -c chute -n "__fish_chute_using_subcommand broker; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand replicate" -s t -l topic -d 'Only this topic' -r
complete -c chute -n "__fish_chute_using_subcommand replicate" -l log-format -d 'Log lines: text (RFC 3339 time, level, message) or json (one object per line)' -r -f -a "text\t'`2026-11-27T09:00:00.123456Z  INFO controller{pid=42}: message`'
json\t'`{"timestamp":"...","level":"INFO","message":"...",...}`'"
complete -c chute -n "__fish_chute_using_subcommand replicate" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand replicate" -l follow -d 'Keep going: sync whenever a leader changes (Ctrl-C to stop)'
complete -c chute -n "__fish_chute_using_subcommand replicate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chute -n "__fish_chute_using_subcommand controller" -l interval -d 'Probe brokers this often' -r
complete -c chute -n "__fish_chute_using_subcommand controller" -l rescan -d 'Full sync pass at least this often, whatever file events say' -r
complete -c chute -n "__fish_chute_using_subcommand controller" -l session-timeout -d 'Take over from an active controller whose heartbeat is older than this' -r
complete -c chute -n "__fish_chute_using_subcommand controller" -l preferred-leader-interval -d 'Give leadership back to preferred replicas this often ("off": only `topic elect-leaders`)' -r
complete -c chute -n "__fish_chute_using_subcommand controller" -l retention-check -d 'Apply retention (delete old segments, roll quiet ones) this often' -r
complete -c chute -n "__fish_chute_using_subcommand controller" -l log-format -d 'Log lines: text (RFC 3339 time, level, message) or json (one object per line)' -r -f -a "text\t'`2026-11-27T09:00:00.123456Z  INFO controller{pid=42}: message`'
json\t'`{"timestamp":"...","level":"INFO","message":"...",...}`'"
complete -c chute -n "__fish_chute_using_subcommand controller" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand controller" -l once -d 'One pass (probe brokers, elect leaders, sync followers, adjust ISRs), then exit: for cron'
complete -c chute -n "__fish_chute_using_subcommand controller" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chute -n "__fish_chute_using_subcommand produce" -s t -l topic -d 'Topic (created with defaults if missing, unless its name looks like a typo of an existing one or the cluster\'s auto.create.topics is false)' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -s f -l format -r -f -a "lines\t''
json\t''
csv\t''"
complete -c chute -n "__fish_chute_using_subcommand produce" -s K -l key-delimiter -d 'Key separator: split each line into KEY SEP VALUE at the first SEP' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -s D -l delimiter -d 'Record delimiter (escapes \\n \\t \\0 \\xHH allowed)' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -s p -l partition -d 'Write every record to this partition' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -s H -l header -d 'Header added to every record (repeatable)' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -l acks -d '0: do not wait for fsync; 1: fsync on the leader; all: every in-sync replica' -r -f -a "0\t''
1\t''
all\t''"
complete -c chute -n "__fish_chute_using_subcommand produce" -l on-error -d 'A malformed or oversized record: stop (exit 65), skip it, or truncate it (log shippers behind `tail -F` keep going); what was skipped or cut is counted on stderr' -r -f -a "stop\t'Stop with exit 65 naming the input line (records before it are kept)'
skip\t'Drop the record, say so on stderr, go on'
truncate\t'Cut an oversized record to the limit; drop a malformed one; go on'"
complete -c chute -n "__fish_chute_using_subcommand produce" -l linger -d 'Wait up to this long for more records before writing a batch. Without it, a batch is written as soon as no more input is ready (full batches from a file, at once from a slow pipe such as `tail -F`)' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -l batch-size -d 'Largest batch in bytes (capped at the topic\'s max.message.bytes)' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -l file -d 'Read from this file instead of stdin' -r -F
complete -c chute -n "__fish_chute_using_subcommand produce" -l timeout -d 'Give up waiting for a partition lock, a leader, or --acks all after this long (exit 75; records of other partitions are still written and fsynced)' -r
complete -c chute -n "__fish_chute_using_subcommand produce" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand produce" -l create -d 'Create the topic if missing even when a similar name exists or auto.create.topics is false'
complete -c chute -n "__fish_chute_using_subcommand produce" -l key-optional -d 'With -K, lines without the separator get a null key instead of an error'
complete -c chute -n "__fish_chute_using_subcommand produce" -s 0 -l null -d 'Records are NUL-terminated (like find -print0)'
complete -c chute -n "__fish_chute_using_subcommand produce" -l csv-header -d 'CSV input starts with a header row naming the columns'
complete -c chute -n "__fish_chute_using_subcommand produce" -s q -l quiet -d 'Say nothing on stderr except errors'
complete -c chute -n "__fish_chute_using_subcommand produce" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chute -n "__fish_chute_using_subcommand consume" -s t -l topic -r
complete -c chute -n "__fish_chute_using_subcommand consume" -s p -l partition -d 'Only these partitions (repeatable or comma-separated)' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l from -d 'Where to start' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l since -d 'Start at the first record at or after TIME' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l until -d 'Stop at the first record newer than TIME' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -s n -l count -d 'Stop after N records' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -s K -l key-delimiter -d 'Print KEY SEP VALUE (kcat\'s -K; raw format only; a null key prints as empty)' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l wait-for-topic -d 'With --follow: wait at most this long for a missing topic to appear, then exit 75' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -s f -l format -d 'raw | json | csv | TEMPLATE' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -s D -l delimiter -d 'Delimiter after each raw value (escapes allowed)' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -s g -l group -d 'Consume as a member of this consumer group (shares partitions, commits offsets)' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l assignor -d 'How the group divides partitions (the group\'s oldest member decides)' -r -f -a "range\t'Contiguous blocks: member i of n gets partitions [i*P/n ..), the first P%n one extra'
roundrobin\t'Partition p goes to member p % n'"
complete -c chute -n "__fish_chute_using_subcommand consume" -l reset -d 'Where a group starts on a partition without a committed offset' -r -f -a "earliest\t''
latest\t''"
complete -c chute -n "__fish_chute_using_subcommand consume" -l exec -d 'Run CMD (with sh -c) for each batch of records, records on its stdin; exit 0 commits' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l exec-batch -d 'Most records per --exec batch (a batch never spans two partitions)' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l exec-timeout -d 'Kill a handler (its whole process group) that runs longer than this; its batch is not committed and chute exits 75' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l on-failure -d 'A failed --exec batch: stop (exit 75, nothing further committed), or find the record it fails on by bisecting the batch and skip it, or send it to a dead-letter topic' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l commit-interval -d 'With -g, commit delivered offsets at least this often (and always before handing a partition over and on exit)' -r
complete -c chute -n "__fish_chute_using_subcommand consume" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand consume" -s F -l follow -d 'Keep waiting for new records (and, for a topic that does not exist yet, for the topic)'
complete -c chute -n "__fish_chute_using_subcommand consume" -s 0 -l null -d 'End each raw value with NUL instead of newline'
complete -c chute -n "__fish_chute_using_subcommand consume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chute -n "__fish_chute_using_subcommand metrics" -l listen -d 'Serve the metrics over HTTP at ADDR (127.0.0.1:9645; port 0 picks one, printed on stderr), a fresh snapshot per scrape, until a signal' -r
complete -c chute -n "__fish_chute_using_subcommand metrics" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand top" -l interval -d 'Redraw this often' -r
complete -c chute -n "__fish_chute_using_subcommand top" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand top" -l once -d 'Print one snapshot and exit (also what happens when stdout is not a terminal)'
complete -c chute -n "__fish_chute_using_subcommand top" -l json -d 'One snapshot as JSON'
complete -c chute -n "__fish_chute_using_subcommand top" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -s t -l topic -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -s g -l group -d 'A consumer group: show its committed offsets, lag and owners' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -l at -d 'Also show, per partition, the first offset at or after TIME' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -l max-lag -d 'The bound for --check: a number of records (1000) or a time (5m: the age of the oldest record not consumed yet)' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -l json
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -l check -d 'With -g: exit 3 when a partition lags more than --max-lag, naming it on stderr'
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -f -a "reset" -d 'Move a group\'s committed offsets; prints old -> new, changes nothing without --execute. Refused while the group has live members'
complete -c chute -n "__fish_chute_using_subcommand offsets; and not __fish_seen_subcommand_from reset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -s g -l group -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -s t -l topic -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -s p -l partition -d 'Only these partitions (repeatable or comma-separated)' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l to-offset -d 'To offset N (clamped to the log start and end)' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l to-datetime -d 'To the first record at or after TIME (2026-11-20T10:00:00Z, epoch ms)' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l by-duration -d 'To the first record at or after DUR ago (e.g. 2h)' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l shift-by -d 'Move by N (negative: back), clamped to the log start and end' -r
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l to-earliest -d 'To the log start'
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l to-latest -d 'To the log end (skip everything not yet consumed)'
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l execute -d 'Apply the change (default: only print it)'
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -l json
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Move a group\'s committed offsets; prints old -> new, changes nothing without --execute. Refused while the group has live members'
complete -c chute -n "__fish_chute_using_subcommand offsets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand group; and not __fish_seen_subcommand_from list describe delete help" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand group; and not __fish_seen_subcommand_from list describe delete help" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand group; and not __fish_seen_subcommand_from list describe delete help" -f -a "list" -d 'List consumer groups with their live member counts'
complete -c chute -n "__fish_chute_using_subcommand group; and not __fish_seen_subcommand_from list describe delete help" -f -a "describe" -d 'Show a group\'s live members and, per partition, committed offset, lag and owner'
complete -c chute -n "__fish_chute_using_subcommand group; and not __fish_seen_subcommand_from list describe delete help" -f -a "delete" -d 'Delete a group and its committed offsets (refused while members are live)'
complete -c chute -n "__fish_chute_using_subcommand group; and not __fish_seen_subcommand_from list describe delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from list" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from list" -l json
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from describe" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from describe" -l json
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from delete" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "list" -d 'List consumer groups with their live member counts'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Show a group\'s live members and, per partition, committed offset, lag and owner'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a group and its committed offsets (refused while members are live)'
complete -c chute -n "__fish_chute_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand dump" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand dump" -s r -l records -d 'Print every record, not only batch headers'
complete -c chute -n "__fish_chute_using_subcommand dump" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand verify" -s t -l topic -d 'Only this topic' -r
complete -c chute -n "__fish_chute_using_subcommand verify" -l lock-timeout -d 'How long --repair waits for a partition lock held by another process (exit 75 after)' -r
complete -c chute -n "__fish_chute_using_subcommand verify" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand verify" -l repair -d 'Cut torn tails and rebuild indexes (takes each partition\'s lock); damaged data of a replicated partition is restored from an in-sync replica\'s identical copy'
complete -c chute -n "__fish_chute_using_subcommand verify" -l truncate-damaged -d 'With --repair: where no replica can restore damaged data, cut the log at the first bad batch; the cut bytes are moved aside (never deleted) and the lost offsets are printed'
complete -c chute -n "__fish_chute_using_subcommand verify" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand completions" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand completions" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand generate-docs" -l root -d 'Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]' -r -F
complete -c chute -n "__fish_chute_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "cluster" -d 'Create or inspect the cluster'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "topic" -d 'Create, list, describe, alter and delete topics'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "broker" -d 'List brokers; mark one down or up'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "replicate" -d 'Bring follower replicas level with their leaders (once, or continuously with --follow)'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "controller" -d 'Run the controller: follower sync, leader failover, ISR changes (one active, others standby)'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "produce" -d 'Append records read from stdin (or --file) to a topic'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "consume" -d 'Print records of a topic to stdout'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "metrics" -d 'Partition, group, broker and controller figures in Prometheus\' text format (0.0.4)'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "top" -d 'The cluster at a glance: partitions, groups and their lag, brokers, the controller'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "offsets" -d 'Earliest and latest offsets per partition; a group\'s committed offsets, lag and owners'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "group" -d 'List, describe and delete consumer groups'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "dump" -d 'Print the batches and records of a segment file or partition directory'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "verify" -d 'Check every partition: CRCs, indexes, offsets; --repair fixes what can be fixed'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "completions" -d 'Print a shell completion script'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "generate-docs" -d 'Write man pages and completion scripts into a directory (used to refresh man/ and completions/)'
complete -c chute -n "__fish_chute_using_subcommand help; and not __fish_seen_subcommand_from cluster topic broker replicate controller produce consume metrics top offsets group dump verify completions generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "init" -d 'Lay out a new cluster with N brokers'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "status" -d 'Show brokers and partition health'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "config" -d 'Cluster-wide settings (auto.create.topics)'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "create" -d 'Create a topic'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "list" -d 'List topics'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "describe" -d 'Show a topic\'s config and partitions'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "alter" -d 'Add partitions or change configs'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "delete" -d 'Delete a topic and its data'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "elect-leaders" -d 'Give leadership back to each partition\'s preferred replica (the first) where it is in sync'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from topic" -f -a "reassign" -d 'Move a partition\'s replicas to other brokers while it is written to'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from broker" -f -a "list" -d 'Show each broker\'s directory and state'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from broker" -f -a "add" -d 'Add a broker (at DIR, e.g. on a new disk; default <root>/brokers/<id>)'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from broker" -f -a "down" -d 'Mark a broker down: the controller moves leadership away from it'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from broker" -f -a "up" -d 'Clear the down mark'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from offsets" -f -a "reset" -d 'Move a group\'s committed offsets; prints old -> new, changes nothing without --execute. Refused while the group has live members'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "list" -d 'List consumer groups with their live member counts'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "describe" -d 'Show a group\'s live members and, per partition, committed offset, lag and owner'
complete -c chute -n "__fish_chute_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "delete" -d 'Delete a group and its committed offsets (refused while members are live)'
