#!/bin/sh
# split.sh - a training set and a held-out set that cannot overlap: every
# task of a group (a question and its statements) goes to the same side,
# chosen by a hash of SEED and the group; about one group in FRACTION is
# held out.  sh split.sh TASKS TRAIN HELDOUT [SEED [FRACTION]]
set -eu
tasks=$1 train=$2 heldout=$3 seed=${4:-7} frac=${5:-4}
pick='def h: reduce explode[] as $c ($seed; (. * 31 + $c) % 1000003);
      select((.group // .id | tostring | h) % $frac '
jq -c --argjson seed "$seed" --argjson frac "$frac" "$pick != 0)" "$tasks" >"$train"
jq -c --argjson seed "$seed" --argjson frac "$frac" "$pick == 0)" "$tasks" >"$heldout"
