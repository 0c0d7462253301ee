#!/usr/bin/env bash
# The `todo` CLI used the way a shell script or a CI job uses it: passwords on stdin,
# every date form, `--json | jq`, exit codes, TODO_TOKEN with a personal access token,
# pipes. Needs TODO_SERVER (a running todo-server), `todo` on PATH, and jq.
# Run by tests/tests/e2e/shell.rs inside `cargo test --workspace`.
set -euo pipefail
: "${TODO_SERVER:?set TODO_SERVER to a running todo-server}"

fail() { echo "FAIL: $*" >&2; exit 1; }
# exit_code CMD...: the command's exit code, without stopping the script.
exit_code() { set +e; "$@" >/dev/null 2>&1; local code=$?; set -e; echo "$code"; }
expect_code() { local want=$1; shift; local got; got=$(exit_code "$@"); [ "$got" = "$want" ] || fail "'$*' exited $got, wanted $want"; }

email="shell-$$-$RANDOM@example.com"
password="shell-suite-harbour-$RANDOM-42"
printf '%s\n' "$password" | todo auth signup --email "$email" --password-stdin -q
[ "$(todo auth status --json | jq -r .user.email)" = "$email" ] || fail "auth status names the account"

# Every date form the README lists is taken.
dates=(2030-01-31 "2030-01-31 17:00" 2030-01-31T17:00 today tomorrow yesterday friday
  "next friday" eod eow eom eoy 17:00 "tomorrow 9am" +3d -1d +2w +2h "in 3 days")
for due in "${dates[@]}"; do
  todo add "due $due" --due "$due" -q
done
count=$(todo list --all --json | jq length)
[ "$count" = "${#dates[@]}" ] || fail "expected ${#dates[@]} tasks, got $count"
[ "$(todo list --json | jq '[.[] | select(.due_at == null)] | length')" = 0 ] || fail "every task has a due date"
expect_code 2 todo add "a bad date" --due someday

# The values, not only their acceptance: a day means its end, in the zone in force at
# that date (New York is UTC-5 in January and UTC-4 in July).
due_of() { TZ="$1" todo add "value $2" --due "$2" --json | jq -r .due_at; }
[ "$(due_of UTC 2030-01-31)" = 2030-01-31T23:59:59Z ] || fail "a day is its end"
[ "$(due_of UTC '2030-01-31 17:00')" = 2030-01-31T17:00:00Z ] || fail "a time on a day"
[ "$(due_of America/New_York '2030-01-15 09:00')" = 2030-01-15T14:00:00Z ] || fail "winter time"
[ "$(due_of America/New_York '2030-07-01 09:00')" = 2030-07-01T13:00:00Z ] || fail "summer time"
[ "$(due_of UTC tomorrow)" = "$(TZ=UTC date -d tomorrow +%F)T23:59:59Z" ] || fail "tomorrow"
[ "$(due_of UTC yesterday)" = "$(TZ=UTC date -d yesterday +%F)T23:59:59Z" ] || fail "yesterday"
expect_code 2 todo list --limit 0

# JSON in, JSON out; several ids at once; tags.
id=$(todo add Buy milk +home --json | jq -r .id)
[ "$(todo show "$id" --json | jq -r '.tags | join(",")')" = home ] || fail "+home is a tag"
[ "$(todo show "$id" --json | jq -r .title)" = "Buy milk" ] || fail "the words form the title"
other=$(todo add Call mum --json | jq -r .id)
todo done "$id" "$other" -q
[ "$(todo list --completed --json | jq length)" = 2 ] || fail "both are done"
todo undo -q
[ "$(todo list --completed --json | jq length)" = 1 ] || fail "undo took one back"
[ "$(todo list --tag HOME --all --json | jq length)" = 1 ] || fail "tags match in any case"
expect_code 3 todo show 999999

# A personal access token for the script: reads, cannot write.
token=$(todo auth token create --name shell --scope tasks:read --expires 1d -q)
[[ "$token" == todo_pat_* ]] || fail "token create prints only the token"
TODO_TOKEN="$token" todo list --all --json | jq -e 'length > 0' >/dev/null || fail "a read token lists"
expect_code 4 env TODO_TOKEN="$token" todo add nope
said=$(TODO_TOKEN="$token" todo add nope 2>&1 || true)
[[ "$said" == *"lacks the tasks:write scope"* ]] || fail "a read token cannot add, and says why: $said"

# A pipe that closes early ends the program quietly.
todo list --all | head -1 >/dev/null
[ "$(todo list --all 2>&1 | head -1 | wc -l)" = 1 ] || fail "head gets a line"

# Export, then import into a second account, twice: the second time adds nothing.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
todo export > "$work/tasks.json"
exported=$(jq length "$work/tasks.json")
todo export --format csv | head -1 | grep -q '^id,title,description,completed' || fail "CSV has a header"
todo auth signout -q
printf '%s\n' "$password" | todo auth signup --email "second-$email" --password-stdin -q
todo import "$work/tasks.json" -q
[ "$(todo list --all --json | jq length)" = "$exported" ] || fail "the import brought every task"
[ "$(todo import "$work/tasks.json" --json | jq .already_imported)" = "$exported" ] || fail "a second import adds nothing"
[ "$(todo list --all --json | jq length)" = "$exported" ] || fail "still the same count"

# Taskwarrior's export: description, annotations, tags, priority, due, status.
cat > "$work/tw.json" <<'TW'
[{"uuid":"5f1c","entry":"20300101T000000Z","description":"File taxes","status":"pending","priority":"H","due":"20300131T170000Z","tags":["money"],"annotations":[{"entry":"20300101T000000Z","description":"receipts in the drawer"}]},
 {"uuid":"9a2b","entry":"20300101T000000Z","description":"Old thing","status":"completed"},
 {"uuid":"0d0d","entry":"20300101T000000Z","description":"Gone","status":"deleted"}]
TW
[ "$(todo import "$work/tw.json" --dry-run --json | jq '[.imported, .skipped] | join(",")' -r)" = "2,1" ] || fail "dry run counts"
[ "$(todo list --all --json | jq length)" = "$exported" ] || fail "a dry run adds nothing"
todo import "$work/tw.json" -q
taxes=$(todo list --all --json | jq '.[] | select(.title == "File taxes")')
[ "$(jq -r .priority <<<"$taxes")" = high ] || fail "H is high"
[ "$(jq -r .note_count <<<"$taxes")" = 1 ] || fail "an annotation is a note"
[ "$(todo show "$(jq -r .id <<<"$taxes")" --json | jq -r '.notes[0].text')" = "receipts in the drawer" ] || fail "the note's text"
[ "$(jq -r .due_at <<<"$taxes")" = "2030-01-31T17:00:00Z" ] || fail "the due date"
[ "$(todo list --all --json | jq '.[] | select(.title == "Old thing") | .completed')" = true ] || fail "completed stays completed"

# Signed out: exit 4; the server unreachable: exit 5.
todo auth signout -q
expect_code 4 todo list
expect_code 5 env TODO_TOKEN="$token" todo --server http://127.0.0.1:9 list
echo "shell suite: ok"
