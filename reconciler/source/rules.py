"""Rule ids of the findings the source layer reports about files (the loader's and the
kustomize builder's alike); the rule table is in the README."""

RULE_FILE_SIZE = "file-too-large"
RULE_NOT_UTF8 = "file-not-utf8"
RULE_SYMLINK = "symlink-escapes-root"
RULE_SETTINGS = "settings-invalid"
RULE_EMPTY = "repository-empty"
