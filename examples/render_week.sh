#!/usr/bin/env bash
# Render a week of clips, one per day, with shortgen batch.
#
#   examples/render_week.sh                  # the 7 days starting today, into out/week-YYYY-MM-DD/
#   examples/render_week.sh 2026-12-07       # the 7 days starting on that date
#   OUT=/data/clips PRESET=shorts DURATION=15 examples/render_week.sh
#   SHARD=2/4 examples/render_week.sh        # on machine 2 of 4: days 2 and 6 (each machine runs its share)
#
# Safe to re-run: finished days are skipped, a crashed or killed run picks up where it stopped, and two
# machines pointed at the same (shared) output folder never write the same clip. The exit code is
# shortgen's: 0 all done, 1 some day failed (see the report), 2 the generated job file was invalid.
# Extra arguments after the date go to `shortgen batch` (e.g. --model, --dry-run, --force).
set -euo pipefail

start="${1:-$(date +%F)}"
shift || true
out="${OUT:-out}"
preset="${PRESET:-tiktok}"
duration="${DURATION:-12}"

# One theme per weekday; edit freely. "a | b" makes a two-beat storyboard.
themes='[
  "sunrise over misty mountains, slow aerial shot",
  "close up of coffee being poured, steam rising | a busy city street in the morning",
  "ocean waves on a black sand beach, slow motion",
  "a cat stretching on a sunny windowsill",
  "neon city street in the rain at night, tracking shot",
  "a forest trail in autumn, golden light through the trees",
  "a campfire under a starry sky, sparks rising"
]'

jobs="$(mktemp "${TMPDIR:-/tmp}/shortgen-week-XXXXXX.jsonl")"
trap 'rm -f "$jobs"' EXIT

# Python (which shortgen needs anyway) does the date arithmetic and the JSON quoting portably.
python3 - "$start" "$preset" "$duration" "$themes" > "$jobs" <<'PY'
import datetime, json, sys

start = datetime.date.fromisoformat(sys.argv[1])
print(json.dumps({"defaults": {"preset": sys.argv[2], "duration": float(sys.argv[3])}}))
for offset, theme in enumerate(json.loads(sys.argv[4])):
    day = start + datetime.timedelta(days=offset)
    print(json.dumps({
        "name": f"{day:%a}".lower(),
        "prompt": theme,
        "seed": int(f"{day:%Y%m%d}"),  # a new clip every day, the same clip if that day is re-rendered
        "output": f"week-{start.isoformat()}/{day.isoformat()}-{{name}}.mp4",
    }))
PY

report="$out/report-week-$start${SHARD:+-shard-${SHARD/\//-of-}}.json"
args=(batch "$jobs" --out-dir "$out" --report "$report")
if [[ -n "${SHARD:-}" ]]; then
  args+=(--shard "$SHARD")
fi
mkdir -p "$out"
status=0
shortgen "${args[@]}" "$@" || status=$?
if [[ -f "$report" ]]; then
  echo "report: $report" >&2
fi
exit "$status"
