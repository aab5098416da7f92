//! The command line, as clap types only. Also the source of `man/` and `completions/`.
//!
//! Values are typed here, at the edge: durations, sizes, times, `--from`, `--format`, ... are
//! parsed by clap through the library's one parser for each kind (bad values are usage errors,
//! exit 2, naming the flag and the value), so the commands get library types, never strings.

use chute::cluster::config::parse_size;
use chute::consume::StartFrom;
use chute::group::deliver::OnFailure;
use chute::group::run::Reset;
use chute::input::{InputFormat, OnError};
use chute::output::OutputFormat;
use chute::produce::Acks;
use chute::time::Time;
use chute::time::parse_duration;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes: 0 ok; 1 other errors (unknown topic or group, ...); 2 usage; 65 bad input data;
74 I/O error or corruption; 75 temporary failure (lock held, no leader, timed out): retry later.";

#[derive(Parser, Debug)]
#[command(
    name = "chute",
    version,
    about = "Kafka's model - topics, partitions, consumer groups, offsets - on a directory tree",
    long_about = "chute keeps Kafka-style partitioned logs in a directory tree and drives them from \
the command line. No server has to run: every command opens the shared layout, coordinates with \
other processes through lock files, and exits.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Cluster root directory [default: $XDG_DATA_HOME/chute, else ~/.local/share/chute]
    #[arg(long, global = true, env = "CHUTE_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Say nothing on stderr but warnings and errors (no "created topic ..." notes)
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Run against this Kafka cluster instead of a directory root (docs/kafka.md)
    #[arg(
        short = 'b',
        long = "bootstrap-server",
        env = "CHUTE_BOOTSTRAP_SERVER",
        value_name = "HOST:PORT[,...]"
    )]
    pub bootstrap_server: Option<String>,
    /// A Kafka client property, as kcat's -X (librdkafka's names): -X security.protocol=SSL
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = client_property)]
    pub property: Vec<(String, String)>,
    /// A Kafka cluster named in $XDG_CONFIG_HOME/chute/config.toml (docs/kafka.md)
    #[arg(long = "cluster", env = "CHUTE_CLUSTER", value_name = "NAME")]
    pub cluster: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// `-X KEY=VALUE`.
fn client_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE (a Kafka client property)")),
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create or inspect the cluster
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Create, list, describe, alter and delete topics
    #[command(subcommand)]
    Topic(TopicCmd),
    /// List brokers; mark one down or up
    #[command(subcommand)]
    Broker(BrokerCmd),
    /// Bring follower replicas level with their leaders (once, or continuously with --follow)
    Replicate(ReplicateArgs),
    /// Run the controller: follower sync, leader failover, ISR changes (one active, others standby)
    Controller(ControllerArgs),
    /// Append records read from stdin (or --file) to a topic
    Produce(ProduceArgs),
    /// Print records of one or more topics to stdout
    Consume(ConsumeArgs),
    /// Transform topics into another with any command, exactly once (a consumer group whose
    /// --exec output is produced to --to, committed with its input)
    Stream(StreamArgs),
    /// Copy topics of this root to a Kafka cluster, each record exactly once, through restarts
    /// and outages (docs/mirror.md)
    Mirror(MirrorArgs),
    /// Partition, group, broker and controller figures in Prometheus' text format (0.0.4)
    Metrics(MetricsArgs),
    /// The cluster at a glance, live: partitions, groups and their lag, brokers, the controller
    /// (q quits, s sorts, / filters)
    Top(TopArgs),
    /// Earliest and latest offsets per partition; a group's committed offsets, lag and owners
    Offsets(OffsetsArgs),
    /// List, describe and delete consumer groups
    #[command(subcommand)]
    Group(GroupCmd),
    /// Print the batches and records of a segment file or partition directory
    Dump(DumpArgs),
    /// Check every partition: CRCs, indexes, offsets; --repair fixes what can be fixed
    Verify(VerifyArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Write man pages and completion scripts into a directory (used to refresh man/ and completions/)
    #[command(hide = true)]
    GenerateDocs {
        /// Output directory (gets man/ and completions/ inside)
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Lay out a new cluster with N brokers
    Init {
        /// Number of brokers
        #[arg(long, default_value_t = 1, value_name = "N")]
        brokers: u32,
        /// Put broker ID's data at PATH (another disk)
        #[arg(long = "broker-dir", value_name = "ID=PATH")]
        broker_dir: Vec<String>,
    },
    /// Show brokers and partition health
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Exit 3 when a partition is offline or under-replicated, naming them on stderr
        #[arg(long)]
        check: bool,
    },
    /// Cluster-wide settings (auto.create.topics)
    #[command(subcommand)]
    Config(ClusterConfigCmd),
}

#[derive(Subcommand, Debug)]
pub enum ClusterConfigCmd {
    /// Change settings: KEY=VALUE ... (KEY= goes back to the default)
    Set {
        /// Settings to change: KEY=VALUE (KEY= goes back to the default)
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
    /// Print settings (all, or one) as KEY=VALUE lines; `(default)` marks those not set
    Get {
        /// Print only this setting's value
        key: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TopicCmd {
    /// Create a topic
    Create {
        /// The topic
        topic: String,
        /// Number of partitions
        #[arg(long, short = 'p', default_value_t = 1, value_name = "N")]
        partitions: u32,
        /// Copies of each partition, each on another broker
        #[arg(long, short = 'r', default_value_t = 1, value_name = "R")]
        replication_factor: u32,
        /// Topic config, e.g. retention=7d, segment.bytes=64MiB (repeatable)
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Succeed quietly when the topic already exists
        #[arg(long)]
        if_not_exists: bool,
    },
    /// List topics
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show a topic's config and partitions
    Describe {
        /// The topic
        #[arg(add = crate::complete::topic())]
        topic: String,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Add partitions or change configs
    Alter {
        /// The topic
        #[arg(add = crate::complete::topic())]
        topic: String,
        /// New partition count (can only grow)
        #[arg(long, short = 'p', value_name = "N")]
        partitions: Option<u32>,
        /// Set a config: KEY=VALUE (repeatable)
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Return a config key to its default (repeatable)
        #[arg(long = "delete-config", value_name = "KEY")]
        delete_config: Vec<String>,
    },
    /// Delete a topic and its data
    Delete {
        /// The topic
        #[arg(add = crate::complete::topic())]
        topic: String,
        /// How long to wait for a writer holding a partition lock (exit 75 after: the topic is
        /// gone from metadata, and the next `topic create` or delete of it finishes the job)
        #[arg(long, default_value = "30s", value_name = "DUR", value_parser = parse_duration)]
        lock_timeout: Duration,
    },
    /// Give leadership back to each partition's preferred replica (the first) where it is in sync
    ElectLeaders {
        /// The topic
        #[arg(add = crate::complete::topic())]
        topic: String,
    },
    /// Move a partition's replicas to other brokers while it is written to
    #[command(after_help = "\
The new replicas copy the partition like any follower; once all are in sync the replica list
becomes the new one (leadership moves if the leader leaves it) and the old replicas' data is
removed. Producers and consumers keep going throughout. The command drives the move itself and
waits (progress on a terminal); a running controller does the same work, so --no-wait leaves it
to the controller (or to `chute controller --once`).")]
    Reassign {
        /// The topic
        #[arg(add = crate::complete::topic())]
        topic: String,
        /// The partition to move
        #[arg(long, short = 'p', value_name = "P", add = crate::complete::partition())]
        partition: u32,
        /// The new replica list, preferred leader first, e.g. 3,1,2
        #[arg(long, value_name = "ID,ID,...", value_delimiter = ',', required = true)]
        replicas: Vec<u32>,
        /// Record the move and return; the controller carries it out
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum BrokerCmd {
    /// Show each broker's directory and state
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Add a broker (at DIR, e.g. on a new disk; default <root>/brokers/<id>)
    Add {
        /// The new broker's directory (a path on another disk)
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
    },
    /// Mark a broker down: the controller moves leadership away from it
    Down {
        /// The broker id
        id: u32,
    },
    /// Clear the down and drain marks: the broker leads, follows and takes new replicas again
    Up {
        /// The broker id
        id: u32,
    },
    /// Rebuild a broker whose disk came back empty (or was swapped for a new one) from the
    /// partitions' current leaders
    #[command(after_help = "\
The broker leaves every ISR and leadership first (an empty disk must never be elected), its
directory is tagged, then each of its replicas is copied from the leader like any follower and
rejoins the ISR. Producers and consumers keep going. Run it again after an interruption (or let
a running controller finish the copy).

Exit 0 when every replica is back in sync; 75 when some cannot be copied now (no leader: their
in-sync replicas are down; run again when they are up); 74 when a partition's every in-sync copy
was on the lost disk (its records are gone; it stays offline unless unclean.leader.election is
set for the topic).")]
    Replace {
        /// The broker id
        id: u32,
        /// The broker's new directory (a new disk mounted elsewhere); default: where it was
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
    },
    /// Move every replica off a broker, keeping each partition's replication factor and the
    /// balance of preferred leaders
    #[command(after_help = "\
The broker is marked draining (new topics and partitions are not placed on it; `broker up`
clears the mark) and every move is recorded at once, then carried out like `topic reassign`
while producers and consumers keep going. Run it again after an interruption, or let a running
controller finish. Exit 0 when the broker holds no replica; 75 when moves are left (a broker
down, a lock held); 1 when the other brokers cannot keep a partition's replication factor.")]
    Drain {
        /// The broker id
        id: u32,
        /// Record the moves and return; a running controller carries them out
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Args, Debug)]
#[command(after_help = "\
Without --listen, prints one snapshot (for node_exporter's textfile collector:
`chute metrics > /var/lib/node_exporter/chute.prom.$$ && mv ...`). Metric names: docs/metrics.md.")]
pub struct MetricsArgs {
    /// Serve the metrics over HTTP at ADDR (127.0.0.1:9645; port 0 picks one, printed on
    /// stderr), a fresh snapshot per scrape, until a signal
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    /// Print one snapshot and exit (also what happens when stdout is not a terminal)
    #[arg(long)]
    pub once: bool,
    /// One snapshot as JSON
    #[arg(long)]
    pub json: bool,
    /// Redraw this often
    #[arg(long, default_value = "1s", value_name = "DUR", value_parser = parse_duration)]
    pub interval: Duration,
}

#[derive(Args, Debug)]
pub struct ReplicateArgs {
    /// Only this topic
    #[arg(long, short = 't', add = crate::complete::topic())]
    pub topic: Option<String>,
    /// Keep going: sync whenever a leader changes (Ctrl-C to stop)
    #[arg(long)]
    pub follow: bool,
    /// Log lines: text (RFC 3339 time, level, message) or json (one object per line)
    #[arg(long, value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
}

#[derive(Args, Debug)]
#[command(after_help = "\
One controller is active at a time; others started on the same root wait as standbys and take
over when the active one dies (at once) or stops responding (after --session-timeout).
Controller events are logged to stderr, one line each: an RFC 3339 time (UTC) and the level
first (no time when stderr is journald's stream, which stamps lines itself), or one JSON object
per line with --log-format json.")]
pub struct ControllerArgs {
    /// One pass (probe brokers, elect leaders, sync followers, adjust ISRs), then exit: for cron
    #[arg(long)]
    pub once: bool,
    /// Probe brokers this often
    #[arg(long, default_value = "50ms", value_name = "DUR", value_parser = parse_duration)]
    pub interval: Duration,
    /// Full sync pass at least this often, whatever file events say
    #[arg(long, default_value = "1s", value_name = "DUR", value_parser = parse_duration)]
    pub rescan: Duration,
    /// Take over from an active controller whose heartbeat is older than this
    #[arg(long, default_value = "5s", value_name = "DUR", value_parser = parse_duration)]
    pub session_timeout: Duration,
    /// Give leadership back to preferred replicas this often ("off": only `topic elect-leaders`)
    #[arg(long, default_value = "5m", value_name = "DUR", value_parser = duration_or_off)]
    pub preferred_leader_interval: DurationOrOff,
    /// Apply retention (delete old segments, roll quiet ones) this often
    #[arg(long, default_value = "1m", value_name = "DUR", value_parser = parse_duration)]
    pub retention_check: Duration,
    /// Log lines: text (RFC 3339 time, level, message) or json (one object per line)
    #[arg(long, value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
}

/// A duration, or `off` (also `never`, `none`): None.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationOrOff(pub Option<Duration>);

fn duration_or_off(s: &str) -> Result<DurationOrOff, String> {
    match s {
        "off" | "never" | "none" => Ok(DurationOrOff(None)),
        s => parse_duration(s)
            .map(|d| DurationOrOff(Some(d)))
            .map_err(|e| format!("{e}; or off (never)")),
    }
}

/// The record delimiter flags of `produce` (input) and `consume` (output after each raw value).
/// The help here is produce's; consume words its own ([`consume_delimiter_help`]).
#[derive(Args, Debug)]
pub struct DelimiterArgs {
    /// Record delimiter (escapes \n \t \0 \xHH allowed)
    #[arg(
        long = "delimiter",
        short = 'D',
        value_name = "DELIM",
        conflicts_with = "null",
        value_parser = escapes
    )]
    pub delimiter: Option<Bytes>,
    /// Records are NUL-terminated (like find -print0)
    #[arg(long = "null", short = '0')]
    pub null: bool,
}

impl DelimiterArgs {
    /// The delimiter's bytes: -0 is NUL, -D DELIM as given, else a newline.
    pub fn bytes(&self) -> Vec<u8> {
        match (&self.delimiter, self.null) {
            (_, true) => vec![0],
            (Some(Bytes(d)), false) => d.clone(),
            (None, false) => b"\n".to_vec(),
        }
    }
}

/// consume's help for the [`DelimiterArgs`] flags (`mut_args` keeps their place in the
/// completions, where `mut_arg` would move them to the end).
fn consume_delimiter_help(a: clap::Arg) -> clap::Arg {
    match a.get_id().as_str() {
        "delimiter" => a.help("Delimiter after each raw value (escapes allowed)"),
        "null" => a.help("End each raw value with NUL instead of newline"),
        _ => a,
    }
}

/// A separator given with escapes (`\t`, `\0`, `\xHH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

fn escapes(s: &str) -> Result<Bytes, String> {
    chute::input::parse_escapes(s)
        .map(Bytes)
        .map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
#[command(after_help = "\
Input formats:
  lines  one record per delimiter (default newline; -D SEP, -0 for NUL); -K SEP splits the key
         off at the first SEP; empty lines are empty records
  json   one object per line: value (required; null = tombstone), key, headers, timestamp,
         partition, key_encoding/value_encoding (\"base64\"); reads `consume --format json` back
  csv    key,value rows (--csv-header: the first row names columns key,value,partition,timestamp)

Records are fsynced before a successful exit, and at least every second while streaming.
On bad input the error names the line; records before it are kept, nothing after it is written.")]
pub struct ProduceArgs {
    /// Topic (created with defaults if missing, unless its name looks like a typo of an
    /// existing one or the cluster's auto.create.topics is false)
    #[arg(long, short = 't', add = crate::complete::topic())]
    pub topic: String,
    /// Create the topic if missing even when a similar name exists or auto.create.topics is
    /// false
    #[arg(long)]
    pub create: bool,
    /// Input format: lines (one record per line), json (one object per line), csv
    #[arg(long, short = 'f', value_enum, default_value = "lines")]
    pub format: InputFormat,
    /// Key separator: split each line into KEY SEP VALUE at the first SEP
    #[arg(long = "key-delimiter", short = 'K', value_name = "SEP", value_parser = escapes)]
    pub key_delimiter: Option<Bytes>,
    /// With -K, --key-field or --key-regex: a record without a key gets a null key instead
    /// of an error
    #[arg(long)]
    pub key_optional: bool,
    /// The key is this field of each value, read as JSON (dotted for nested: user.id); a
    /// string gives its text, anything else its compact JSON
    #[arg(long, value_name = "PATH", conflicts_with_all = ["key_delimiter", "key_regex"])]
    pub key_field: Option<String>,
    /// The key is the first capture group of RE in each value (the whole match without one)
    #[arg(long, value_name = "RE", conflicts_with = "key_delimiter")]
    pub key_regex: Option<String>,
    /// Where records go: murmur2 (keys hashed as the Java producer does), crc32 (as
    /// librdkafka's consistent), round-robin, sticky or random; default: the topic's
    /// partitioner config (murmur2)
    #[arg(long, value_enum, value_name = "NAME")]
    pub partitioner: Option<chute::partitioner::Partitioner>,
    /// Ask CMD (sh -c, long-lived) for each record's partition: one key per line on its stdin
    /// (\\ \n \r escaped, \N for no key), one partition number per line back
    #[arg(long, value_name = "CMD", conflicts_with = "partitioner")]
    pub partitioner_exec: Option<String>,
    /// How long --partitioner-exec may take to answer (then exit 75)
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration, requires = "partitioner_exec")]
    pub partitioner_timeout: Duration,
    /// The partition is this field of each value, read as JSON (a number)
    #[arg(long, value_name = "PATH", conflicts_with_all = ["partition", "partition_regex"])]
    pub partition_field: Option<String>,
    /// The partition is the first capture group of RE in each value
    #[arg(long, value_name = "RE", conflicts_with = "partition")]
    pub partition_regex: Option<String>,
    /// Retry-safe producer: each record's input position is its sequence, the log remembers
    /// the last one written per partition, and a re-run of the same command on the same input
    /// appends only what is missing (placement then depends only on the key and position)
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,
    /// Close a batch at N records too (with --batch-size and --linger: the first bound reached)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_records: Option<u32>,
    #[command(flatten)]
    pub delimiter: DelimiterArgs,
    /// Write every record to this partition
    #[arg(long, short = 'p', value_name = "P", add = crate::complete::partition())]
    pub partition: Option<u32>,
    /// Header added to every record (repeatable)
    #[arg(long = "header", short = 'H', value_name = "K=V")]
    pub header: Vec<String>,
    /// 0: do not wait for fsync; 1: fsync on the leader; all: every in-sync replica
    #[arg(long, value_enum, default_value = "1")]
    pub acks: Acks,
    /// A malformed or oversized record: stop (exit 65), skip it, or truncate it (log shippers
    /// behind `tail -F` keep going); what was skipped or cut is counted on stderr
    #[arg(long, value_enum, default_value = "stop")]
    pub on_error: OnError,
    /// Wait up to this long for more records before writing a batch. Without it, a batch is
    /// written as soon as no more input is ready (full batches from a file, at once from a
    /// slow pipe such as `tail -F`)
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub linger: Option<Duration>,
    /// Largest batch in bytes (capped at the topic's max.message.bytes)
    #[arg(long, default_value = "1MiB", value_name = "SIZE", value_parser = parse_size)]
    pub batch_size: u64,
    /// Compress each batch: none, gzip, snappy, lz4 or zstd (kcat's -z; a topic whose
    /// compression.type names a codec uses that one)
    #[arg(
        long,
        short = 'z',
        value_enum,
        default_value = "none",
        value_name = "CODEC"
    )]
    pub compression: chute::log::codec::Codec,
    /// The codec's level: gzip 1-9 (default 6), zstd 1-22 (default 3); lz4 and snappy have none
    #[arg(long, value_name = "N", requires = "compression")]
    pub compression_level: Option<i32>,
    /// Read from this file instead of stdin
    #[arg(long, value_name = "F")]
    pub file: Option<PathBuf>,
    /// CSV input starts with a header row naming the columns
    #[arg(long)]
    pub csv_header: bool,
    /// Give up waiting for a partition lock, a leader, or --acks all after this long (exit 75;
    /// records of other partitions are still written and fsynced)
    #[arg(long, default_value = "30s", value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
#[command(
    mut_args(consume_delimiter_help),
    after_help = "\
--from: beginning | end | stored | N (an offset) | -N (N records before the end); default
beginning, or stored (the group's committed offset) with -g.
--since/--until: 2026-11-20T10:00:00Z (or +01:00), \"2026-11-20 10:00\" or 2026-11-20 (local time,
TZ), today, yesterday, 09:00, now, a duration ago such as 2h, or epoch milliseconds.
Without --follow, consume stops at the end as it was when it started.

-t is repeatable; a value starting with ^ is a regular expression (-t '^orders\\..*': every
topic whose name it matches; ^ anchors the start, no $ is implied; `.` is legal in names, so
anything else is a literal name). A topic matched by a name and a pattern is read once. With
--follow, topics created later that a pattern matches are read too, from their beginning (in
a group: by the group, after a rebalance). -p needs exactly one topic.

--format: raw (value + newline), json (one envelope per line; non-UTF-8 bytes as base64 with
key_encoding/value_encoding), csv (topic,partition,offset,timestamp,key,value,headers), or a
kcat template: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (epoch ms),
%T{%F %T} the timestamp with a strftime pattern in the local zone (TZ), %h headers,
%K key length, %S value length, %% percent; escapes \\n \\t \\r \\\\ \\0.

With -g GROUP, members of the group share the topics' partitions (one owner per partition) and
commit what they delivered: only records fully written to stdout, or accepted by --exec CMD
(exit 0). Without --follow a member reads its share to the end, commits and exits (cron);
with --follow it keeps going and rebalances as members join and leave. See docs/groups.md."
)]
pub struct ConsumeArgs {
    /// The topic; repeatable (-t a -t b). A value starting with ^ is a regular expression
    /// for every topic it matches, searched in the name as written: ^ anchors the start, no $
    /// is implied (-t '^orders\..*'). Anything else is a literal name
    #[arg(long, short = 't', required = true, value_name = "TOPIC|^REGEX", add = crate::complete::topic())]
    pub topic: Vec<String>,
    /// Only these partitions (repeatable or comma-separated); of one topic, so -t must name or
    /// match exactly one
    #[arg(
        long = "partition",
        short = 'p',
        value_name = "P",
        value_delimiter = ',',
        add = crate::complete::partition()
    )]
    pub partition: Vec<u32>,
    /// Where to start
    #[arg(long, value_name = "SPEC", allow_hyphen_values = true)]
    pub from: Option<StartFrom>,
    /// Start at the first record at or after TIME
    #[arg(long, value_name = "TIME")]
    pub since: Option<Time>,
    /// Stop at the first record newer than TIME
    #[arg(long, value_name = "TIME")]
    pub until: Option<Time>,
    /// Stop after N records
    #[arg(short = 'n', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Print KEY SEP VALUE (kcat's -K; raw format only; a null key prints as empty)
    #[arg(long = "key-delimiter", short = 'K', value_name = "SEP", value_parser = escapes)]
    pub key_delimiter: Option<Bytes>,
    /// Keep waiting for new records (and for a topic that does not exist yet, or one a pattern
    /// matches; topics a pattern matches later are read too)
    #[arg(long, short = 'F')]
    pub follow: bool,
    /// Records of all partitions (of every topic) in timestamp order (ties by topic, partition,
    /// then offset), up to the end as it was at the start
    #[arg(long, conflicts_with_all = ["follow", "group"])]
    pub merge: bool,
    /// The last N records of the topics in timestamp order (like tail -n N); with --follow,
    /// then new records as they arrive. --from -N is per partition (kcat's -o -N)
    #[arg(long, value_name = "N", conflicts_with_all = ["from", "since", "group", "merge"])]
    pub tail: Option<u64>,
    /// With --follow: wait at most this long for a missing topic (or one a pattern matches) to
    /// appear, then exit 75
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "follow")]
    pub wait_for_topic: Option<Duration>,
    /// raw | json | csv | TEMPLATE
    #[arg(long, short = 'f', default_value = "raw", value_name = "FORMAT", add = crate::complete::format())]
    pub format: OutputFormat,
    #[command(flatten)]
    pub delimiter: DelimiterArgs,
    /// Consume as a member of this consumer group (shares partitions, commits offsets)
    #[arg(long, short = 'g', value_name = "GROUP", add = crate::complete::group())]
    pub group: Option<String>,
    /// How the group divides partitions (the group's oldest member decides)
    #[arg(long, value_enum, default_value = "range", requires = "group")]
    pub assignor: chute::group::Assignor,
    /// Where a group starts on a partition without a committed offset
    #[arg(long, value_enum, default_value = "earliest", requires = "group")]
    pub reset: Reset,
    /// Run CMD (with sh -c) for each batch of records, records on its stdin; exit 0 commits
    #[arg(long, value_name = "CMD", requires = "group")]
    pub exec: Option<String>,
    /// Most records per --exec batch (a batch never spans two partitions)
    #[arg(long, default_value_t = 1000, value_name = "N", requires = "exec")]
    pub exec_batch: usize,
    /// Kill a handler (its whole process group) that runs longer than this; its batch is not
    /// committed and chute exits 75
    #[arg(long, value_name = "DUR", requires = "exec", value_parser = parse_duration)]
    pub exec_timeout: Option<Duration>,
    /// A failed --exec batch: stop (exit 75, nothing further committed), or find the record it
    /// fails on by bisecting the batch and skip it, or send it to a dead-letter topic
    #[arg(
        long,
        default_value = "stop",
        value_name = "stop|skip|dead-letter=TOPIC",
        requires = "exec"
    )]
    pub on_failure: OnFailure,
    /// With -g, commit delivered offsets at least this often (and always before handing a
    /// partition over and on exit)
    #[arg(
        long,
        default_value = "1s",
        value_name = "DUR",
        requires = "group",
        value_parser = parse_duration
    )]
    pub commit_interval: Duration,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Records keep their key, value, headers and timestamp, and their partition when the destination
has as many (a missing destination is created so; otherwise keys go where the Java producer
puts them). To Kafka, each batch goes out in one Kafka transaction with the mirror's positions;
consumers on Kafka see only committed records (librdkafka's default; Java's needs
isolation.level=read_committed). From Kafka, the root's log remembers each record's source
offset (as produce --id does). Either way a mirror killed at any moment and run again copies
each record once. Kafka settings: --to-kafka/--from-kafka HOST:PORT, or the top-level
-b/--cluster; top-level -X applies.

--groups G carries a consumer group's position to the destination when the copy is done: the
group resumes there at the first record it had not committed on the source (docs/mirror.md).

Exit codes: 0 done (or stopped by a signal after its last commit); 1 another mirror of the
same --name took over, the cluster refused a login, or a --groups group has live members on
the destination; 2 usage; 75 the cluster could not be reached and --retry-for ran out.")]
pub struct MirrorArgs {
    /// Topic to copy; repeatable. A value starting with ^ is a regular expression (with
    /// --follow, topics created later that it matches are copied too)
    #[arg(long, short = 't', required = true, value_name = "TOPIC|^REGEX", add = crate::complete::topic())]
    pub topic: Vec<String>,
    /// Copy this root's topics to this Kafka cluster (without a value: the one -b or --cluster
    /// names)
    #[arg(
        long,
        value_name = "HOST:PORT[,...]",
        num_args = 0..=1,
        default_missing_value = "",
        required_unless_present = "from_kafka",
        conflicts_with = "from_kafka"
    )]
    pub to_kafka: Option<String>,
    /// Copy topics of this Kafka cluster to this root (without a value: the one -b or
    /// --cluster names)
    #[arg(
        long,
        value_name = "HOST:PORT[,...]",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub from_kafka: Option<String>,
    /// The mirror's name on the cluster: its transactions and positions (group
    /// chute-mirror.NAME). One running mirror per name [default: HOST.ROOTDIR, the host's name
    /// and the root's directory name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Give a topic another name on the destination; repeatable
    #[arg(long, value_name = "SOURCE=DEST", value_parser = rename)]
    pub rename: Vec<(String, String)>,
    /// Keep copying what arrives, until stopped (SIGTERM, Ctrl-C)
    #[arg(long, short = 'F')]
    pub follow: bool,
    /// Most records per transaction (or, from Kafka, per durable write)
    #[arg(long, default_value_t = 200_000, value_name = "N")]
    pub batch_records: u64,
    /// Replication factor of topics created on the destination [default: the cluster's on
    /// Kafka, 1 on a root]
    #[arg(long, short = 'r', value_name = "N")]
    pub replication_factor: Option<u32>,
    /// Give up (exit 75) when the cluster has been unreachable this long [default: never]
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub retry_for: Option<Duration>,
    /// When the copy is done, carry these consumer groups' committed positions to the
    /// destination, so each resumes there at the first record it had not committed (refused
    /// while a group has live members on the destination); repeatable or comma-separated
    #[arg(long, value_name = "GROUP", value_delimiter = ',', add = crate::complete::group())]
    pub groups: Vec<String>,
    /// Copy into destination topics that already hold records this mirror did not write
    /// (refused otherwise: a mirror under a new --name would copy everything again)
    #[arg(long)]
    pub append: bool,
    /// Print a JSON summary on stdout at the end
    #[arg(long)]
    pub json: bool,
}

/// `--rename SOURCE=DEST`.
fn rename(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("{s:?} is not SOURCE=DEST (two topic names)")),
    }
}

#[derive(Args, Debug)]
#[command(after_help = "\
Each batch of input records (one partition, at most --exec-batch) goes to CMD on stdin; CMD's
stdout is parsed as records (--out-format) and produced to --to. A batch's output and the
group's committed position become visible together or not at all, whatever is killed when:
a re-run redoes exactly what is missing. CMD's output need not be deterministic. The group is
an ordinary consumer group (offsets -g, consume -g, group describe see it). docs/streams.md.

Exit codes: 0 done (cron mode: the group's share read to the end as of the start); 65 output
CMD wrote that does not parse; 75 CMD failed (--on-failure stop) or a wait timed out.")]
pub struct StreamArgs {
    /// Input topic; repeatable. A value starting with ^ is a regular expression (as consume -t)
    #[arg(long, short = 't', required = true, value_name = "TOPIC|^REGEX", add = crate::complete::topic())]
    pub topic: Vec<String>,
    /// The consumer group (members share the input partitions)
    #[arg(long, short = 'g', value_name = "GROUP", add = crate::complete::group())]
    pub group: String,
    /// The output topic (created with defaults if missing, as produce does)
    #[arg(long, value_name = "TOPIC", add = crate::complete::topic())]
    pub to: String,
    /// The transform (sh -c): input records on stdin, output records on stdout; exit 0 accepts
    #[arg(long, value_name = "CMD")]
    pub exec: String,
    /// Most input records per batch (a batch never spans two partitions)
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub exec_batch: usize,
    /// Kill CMD (its process group) when a batch runs longer than this; the batch counts for
    /// nothing
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub exec_timeout: Option<Duration>,
    /// A failed batch: stop (exit 75), or bisect it to the record CMD fails on and skip it, or
    /// send that record to a dead-letter topic
    #[arg(
        long,
        default_value = "stop",
        value_name = "stop|skip|dead-letter=TOPIC"
    )]
    pub on_failure: OnFailure,
    /// How input records are written to CMD: raw | json | csv | TEMPLATE (as consume)
    #[arg(long, short = 'f', default_value = "raw", value_name = "FORMAT", add = crate::complete::format())]
    pub format: OutputFormat,
    /// How CMD's output is read: lines, json (value, key, headers, timestamp, partition) or csv
    #[arg(long, value_enum, default_value = "lines", value_name = "FORMAT")]
    pub out_format: InputFormat,
    /// Split each line of CMD's output into KEY SEP VALUE at the first SEP
    #[arg(long = "key-delimiter", short = 'K', value_name = "SEP", value_parser = escapes)]
    pub key_delimiter: Option<Bytes>,
    /// With -K: an output line without SEP gets a null key instead of an error
    #[arg(long)]
    pub key_optional: bool,
    /// Keep running: process new input as it arrives, rebalancing as members come and go
    #[arg(long, short = 'F')]
    pub follow: bool,
    /// How the group divides partitions
    #[arg(long, value_enum, default_value = "range")]
    pub assignor: chute::group::Assignor,
    /// Where the group starts on a partition without a committed offset
    #[arg(long, value_enum, default_value = "earliest")]
    pub reset: Reset,
    /// The output's durability: 1 (fsync on the leader) or all (every in-sync replica)
    #[arg(long, value_enum, default_value = "1")]
    pub acks: Acks,
    /// Compress the output's batches (as produce -z)
    #[arg(
        long,
        short = 'z',
        value_enum,
        default_value = "none",
        value_name = "CODEC"
    )]
    pub compression: chute::log::codec::Codec,
    /// Give up waiting for a partition lock, a leader or --acks all after this long (exit 75)
    #[arg(long, default_value = "30s", value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
chute offsets -t T [--at TIME]      earliest and latest offset per partition
chute offsets -g G [-t T]           committed offset, log end, lag and owner per partition
chute offsets reset -g G -t T ...   move a group's committed offsets (dry run unless --execute)"
)]
pub struct OffsetsArgs {
    /// The topic
    #[arg(long, short = 't', add = crate::complete::topic())]
    pub topic: Option<String>,
    /// A consumer group: show its committed offsets, lag and owners
    #[arg(long, short = 'g', value_name = "GROUP", add = crate::complete::group())]
    pub group: Option<String>,
    /// Also show, per partition, the first offset at or after TIME
    #[arg(long, value_name = "TIME", conflicts_with = "group")]
    pub at: Option<Time>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// With -g: exit 3 when a partition lags more than --max-lag, naming it on stderr
    #[arg(long, requires = "max_lag", requires = "group")]
    pub check: bool,
    /// The bound for --check: a number of records (1000) or a time (5m: the age of the
    /// oldest record not consumed yet)
    #[arg(long, value_name = "N|DURATION", requires = "check")]
    pub max_lag: Option<chute::group::admin::MaxLag>,
    #[command(subcommand)]
    pub command: Option<OffsetsCmd>,
}

#[derive(Subcommand, Debug)]
pub enum OffsetsCmd {
    /// Move a group's committed offsets; prints old -> new, changes nothing without --execute.
    /// Refused while the group has live members.
    Reset(ResetArgs),
}

#[derive(Args, Debug)]
#[command(group(
    clap::ArgGroup::new("to")
        .required(true)
        .args(["to_earliest", "to_latest", "to_offset", "to_datetime", "by_duration", "shift_by"])
))]
pub struct ResetArgs {
    /// The consumer group
    #[arg(long, short = 'g', value_name = "GROUP", add = crate::complete::group())]
    pub group: String,
    /// The topic
    #[arg(long, short = 't', add = crate::complete::topic())]
    pub topic: String,
    /// Only these partitions (repeatable or comma-separated)
    #[arg(
        long = "partition",
        short = 'p',
        value_name = "P",
        value_delimiter = ',',
        add = crate::complete::partition()
    )]
    pub partition: Vec<u32>,
    /// To the log start
    #[arg(long)]
    pub to_earliest: bool,
    /// To the log end (skip everything not yet consumed)
    #[arg(long)]
    pub to_latest: bool,
    /// To offset N (clamped to the log start and end)
    #[arg(long, value_name = "N")]
    pub to_offset: Option<u64>,
    /// To the first record at or after TIME (2026-11-20T10:00:00Z, epoch ms)
    #[arg(long, value_name = "TIME")]
    pub to_datetime: Option<Time>,
    /// To the first record at or after DUR ago (e.g. 2h)
    #[arg(long, value_name = "DUR", value_parser = Time::ago)]
    pub by_duration: Option<Time>,
    /// Move by N (negative: back), clamped to the log start and end
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Apply the change (default: only print it)
    #[arg(long)]
    pub execute: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// List consumer groups with their live member counts
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show a group's live members and, per partition, committed offset, lag and owner
    Describe {
        /// The consumer group
        #[arg(add = crate::complete::group())]
        group: String,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Delete a group and its committed offsets (refused while members are live)
    Delete {
        /// The consumer group
        #[arg(add = crate::complete::group())]
        group: String,
    },
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// A .log segment file or a partition directory
    pub path: PathBuf,
    /// Print every record, not only batch headers
    #[arg(long, short = 'r')]
    pub records: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Only this topic
    #[arg(long, short = 't', add = crate::complete::topic())]
    pub topic: Option<String>,
    /// Cut torn tails and rebuild indexes (takes each partition's lock); damaged data of a
    /// replicated partition is restored from an in-sync replica's identical copy
    #[arg(long)]
    pub repair: bool,
    /// With --repair: where no replica can restore damaged data, cut the log at the first bad
    /// batch; the cut bytes are moved aside (never deleted) and the lost offsets are printed
    #[arg(long, requires = "repair")]
    pub truncate_damaged: bool,
    /// How long --repair waits for a partition lock held by another process (exit 75 after)
    #[arg(long, default_value = "30s", value_name = "DUR", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every flag and argument of every command says what it is for (`--help`, man pages).
    #[test]
    fn every_argument_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if a.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if !sub.is_hide_set() {
                    walk(sub, &format!("{path} {}", sub.get_name()), missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "chute", &mut missing);
        assert!(
            missing.is_empty(),
            "arguments without help:\n{}",
            missing.join("\n")
        );
    }
}
