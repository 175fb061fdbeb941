#!/usr/bin/env bash
# A first journey with the CLI: a Draft Proposal raised by a Small Supplier, carried through the Development
# Stage, the Panel's path, the Refinement Process, the Report Phase and the Change Board to Implemented.
# Run it after `scripts/run` (or `gbsmart db upgrade && gbsmart demo`); the README shows this file, and the
# tests run it against a fresh database (tests/test_readme_journey.py), so every command here works.
set -euo pipefail
gbsmart() { ${GBSMART:-.venv/bin/gbsmart} "$@"; }

gbsmart change process                 # the whole process: steps, states, who may act
gbsmart change list --stage draft
gbsmart change show DP096

# raise a Draft Proposal and keep the reference it was given (DP139 on a fresh demo, the next one after that)
DP=$(gbsmart change raise --as small --title "Power outage alerts in 60 s" \
  --problem "The DCC cannot meet the 60 second obligation." | sed -n 's/.*raised \(DP[0-9]*\).*/\1/p')
gbsmart change step "$DP" ready_to_convert --as csc --route refinement --reference "CSC 12_2502"
# conversion gives it a Modification Proposal reference (MPnnn): keep that too
MP=$(gbsmart change step "$DP" convert --as panel --reference "Panel 78" | sed -n 's/^✓ \(MP[0-9]*\):.*/\1/p')
gbsmart change step "$MP" set_path --path path_3 --as panel --reference "Panel 78"
gbsmart change step "$MP" complete_refinement --as secas --reason "The Working Group agreed the solution."
gbsmart change step "$MP" open_mr_consultation --as secas
gbsmart change step "$MP" close_mr_consultation --as secas
gbsmart change step "$MP" open_change_board --as secas
for party in large small electricity gas other; do  # each Party votes from its own sign-in
  gbsmart change vote "$MP" approve --as "$party"
done
gbsmart change tally "$MP"
gbsmart change step "$MP" close_change_board --as secas     # Path 3: the Change Board decides
gbsmart change add-release "Ad-hoc release for $MP" --on "$(date -d '+30 days' +%F)" --ad-hoc --as secas
gbsmart change step "$MP" target_release --release "Ad-hoc release for $MP" --as secas
gbsmart change step "$MP" implement --as secas
gbsmart change show "$MP"
