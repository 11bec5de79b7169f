#!/usr/bin/env bash
# Regenerates the summary table of docs/RELIABILITY.md (between its summary markers) from a
# test run: each reliability test's result in that run and the figures it recorded.
#   scripts/reliability-summary.sh TEST-OUTPUT FIGURES-DIR REPORT
set -euo pipefail
output=$1 figures=$2 report=$3
table=$(mktemp)
trap 'rm -f "$table"' EXIT
{
    echo "Run of $(date -u +%Y-%m-%d) on $(nproc) CPUs (\`bash scripts/test.sh\`; load: ${KCF_TEST_LOAD:-as found})."
    echo
    echo "| test | runs | failures | what was checked |"
    echo "|---|---|---|---|"
    for f in "$figures"/*.txt; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .txt)
        result=$(grep -E "^test ${name} \.\.\. " "$output" | awk '{print $NF}' | head -1 || true)
        failures=$([ "$result" = "ok" ] && echo 0 || echo 1)
        [ -z "$result" ] && failures="–"
        checked=$(paste -sd' ' "$f")
        echo "| \`$name\` | 1 | $failures | $checked |"
    done
    # A reliability test that failed before it recorded its figures.
    grep -E '^test [^ ]*(killed_at_random|schemathesis|dropped_mid_way|names_a_date|no_secret|faults_|bad_push|bad_webhooks|outage|cut_short|nul_or_long|slow_clients|dump|credentials)[^ ]* \.\.\. FAILED$' "$output" \
        | awk '{print $2}' | while read -r name; do
            [ -e "$figures/$name.txt" ] || echo "| \`$name\` | 1 | 1 | failed before recording its figures |"
        done || true
} > "$table"
awk -v table="$table" '
    /<!-- summary:start -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- summary:end -->/ { skip = 0 }
    !skip { print }
' "$report" > "$report.new"
mv "$report.new" "$report"
echo "$(grep -c '^| `' "$table") reliability tests summarised in $report"
