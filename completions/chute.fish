complete --keep-order --exclusive --command chute --arguments "(COMPLETE=fish chute -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
