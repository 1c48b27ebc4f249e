"""GitLab glue for reconciler's CI jobs (standard library only; copy it next to .gitlab-ci.yml).

    python reconciler_gitlab.py note plan.md      # create or update the one plan note on this MR
    python reconciler_gitlab.py fetch-plan plan.json
        # on the default branch: download plan.json saved by the plan job of the merged MR

Reads GitLab's predefined variables (CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID,
CI_COMMIT_SHA) and RECONCILER_GITLAB_TOKEN: a project access token with the `api` scope and at
least the Reporter role (CI_JOB_TOKEN may not write notes).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
from typing import Any

MARKER = "<!-- reconciler-plan -->"
PLAN_JOB = os.environ.get("RECONCILER_PLAN_JOB", "reconciler-plan")
NOTE_LIMIT = 900_000  # GitLab refuses notes over 1,000,000 characters


def _request(method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
    url = os.environ["CI_API_V4_URL"] + f"/projects/{os.environ['CI_PROJECT_ID']}" + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("PRIVATE-TOKEN", os.environ["RECONCILER_GITLAB_TOKEN"])
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        payload: bytes = resp.read()
        return payload


def _json(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return json.loads(_request(method, path, body))


def note(markdown_file: str) -> None:
    """Create the MR's plan note, or replace the one an earlier pipeline wrote."""
    iid = os.environ["CI_MERGE_REQUEST_IID"]
    with open(markdown_file, encoding="utf-8") as fh:
        plan = fh.read()
    if len(plan) > NOTE_LIMIT:
        plan = plan[:NOTE_LIMIT] + "\n\n... truncated: the full plan is in the job's artifacts.\n"
    short = os.environ.get("CI_COMMIT_SHORT_SHA", "")
    job = os.environ.get("CI_JOB_URL", "")
    body = f"{MARKER}\n{plan}\n\n---\nPlan of {short} ([job]({job})); applied after the merge by the manual apply job."
    page = 1
    while True:
        notes = _json("GET", f"/merge_requests/{iid}/notes?per_page=100&page={page}&sort=asc")
        mine = next((n for n in notes if str(n.get("body", "")).startswith(MARKER)), None)
        if mine is not None:
            _json("PUT", f"/merge_requests/{iid}/notes/{mine['id']}", {"body": body})
            return
        if len(notes) < 100:
            break
        page += 1
    _json("POST", f"/merge_requests/{iid}/notes", {"body": body})


def fetch_plan(out: str) -> None:
    """Find the merged MR of this commit, then the plan.json of its head's successful plan job."""
    sha = os.environ["CI_COMMIT_SHA"]
    mrs = [m for m in _json("GET", f"/repository/commits/{sha}/merge_requests") if m.get("state") == "merged"]
    if not mrs:
        sys.exit(f"No merged merge request produced {sha}: nothing was reviewed, nothing is applied. "
                 "Run a pipeline on the default branch with RECONCILER_FRESH_PLAN=1 to plan it afresh.")
    mr = mrs[0]
    for pipeline in _json("GET", f"/merge_requests/{mr['iid']}/pipelines"):
        if pipeline.get("sha") != mr["sha"]:
            continue
        jobs = _json("GET", f"/pipelines/{pipeline['id']}/jobs?scope[]=success&per_page=100")
        job = next((j for j in jobs if j.get("name") == PLAN_JOB), None)
        if job is not None:
            with open(out, "wb") as fh:
                fh.write(_request("GET", f"/jobs/{job['id']}/artifacts/" + urllib.parse.quote(out)))
            print(f"Applying the plan reviewed on !{mr['iid']} (job {job['id']}, head {mr['sha'][:8]}).")
            return
    sys.exit(f"No successful {PLAN_JOB} job for the head of !{mr['iid']} (plan failed, or artifacts expired). "
             "Run a pipeline on the default branch with RECONCILER_FRESH_PLAN=1 to plan it afresh.")


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[1] not in ("note", "fetch-plan"):
        sys.exit(__doc__)
    if argv[1] == "note":
        note(argv[2])
    else:
        fetch_plan(argv[2])


if __name__ == "__main__":
    main(sys.argv)
