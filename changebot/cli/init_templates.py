"""The texts ``changebot init`` writes (``SETTINGS_TEMPLATE`` takes ``schema``, its modeline's URL).

``WORKFLOW_TEMPLATE`` is ``examples/workflows/changebot.yml`` (a test keeps them equal).
"""

from __future__ import annotations

SETTINGS_TEMPLATE = """\
# yaml-language-server: $schema={schema}
# changebot's settings, read from the base branch: a pull request cannot relax the rules that judge it.
# Every key is optional; each is shown commented out with its default. Reference: the README's "Settings".
version: 1

# Roll out gate by gate: start with every gate in advisory mode (findings shown, the check run concludes
# 'neutral' instead of 'failure'), then enforce the gates one at a time.
# mode: enforce                 # enforce | advisory | off, for every gate not named under gates:
# gates:
#   schema: {{mode: enforce}}
#   freeze: {{mode: advisory}}

# Who may grant '/changebot override <gate> --reason "..."', and for how long.
# overrides:
#   freeze: {{who: [maintain, admin], reason_min_len: 20, expires_max: 72h, lapse_on_push: true}}

# limits:
#   max_file_bytes: 1048576     # largest file read (1 MiB)
#   max_repo_bytes: 67108864    # most bytes read from one side of a PR (64 MiB)
#   max_nodes: 200000           # most values one YAML/JSON document may expand to

# github:
#   check_name: changebot       # the check run's name; branch protection requires it by this name
"""

WORKFLOW_TEMPLATE = """\
# .github/workflows/changebot.yml (written by 'changebot init', or copied from examples/workflows/changebot.yml).
#
# pull_request_target runs with a token that can write checks and comments even for pull requests from forks.
# That is safe here because changebot never executes anything from the pull request: it reads the base
# (governance) and head (proposal) commits through git, without checking them out. Do not add steps that
# build or run the PR's code to this workflow.
name: changebot

on:
  pull_request_target:
    types: [opened, synchronize, reopened, ready_for_review]
  issue_comment:
    types: [created]       # /changebot help | plan | gate | budget | freeze | sequence | override ...
  schedule:
    - cron: "0 6 * * 1-5"  # freeze-window compliance, every weekday morning
  workflow_dispatch:

permissions:
  contents: read
  checks: write
  pull-requests: write
  issues: write            # rule labels, and the weekly freeze-audit issue on schedule

# A new push cancels the evaluation of the previous one; every comment gets its own run.
concurrency:
  group: >-
    changebot-${{ github.event_name == 'issue_comment' && format('comment-{0}', github.event.comment.id)
    || format('pr-{0}', github.event.pull_request.number || github.ref) }}
  cancel-in-progress: ${{ github.event_name != 'issue_comment' }}

jobs:
  changebot:
    # Comments start a job only when they are /changebot commands on pull requests.
    if: >-
      github.event_name != 'issue_comment' ||
      (github.event.issue.pull_request && startsWith(github.event.comment.body, '/changebot'))
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0           # changebot reads the PR's base and head commits
          persist-credentials: false
      - id: changebot
        uses: changebot/changebot@v0
        with:
          token: ${{ github.token }}
      - run: echo "verdict=${{ steps.changebot.outputs.verdict }} cost=${{ steps.changebot.outputs.cost }}"
        if: always()
"""
