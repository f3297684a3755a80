"""The rxrego command line: the `rxrego` group and its commands, one module per group.

    pipeline   check, generate, lint, conformance, run, doctor
    serving    bundle, serve, decide, deploy-config
    author     render, explain, diff, questionnaire, questionnaire-decide, new, studio
    repository init, install-tools
    errors     the exit statuses (ExitCode) and the one error adapter

All click code lives in this package; the library under it (generate, bundle, sidecar,
deploy, client, author, conformance) imports neither click nor anything from here.
"""

from __future__ import annotations

import click

from .. import project
from . import author, pipeline, repository, serving
from .errors import Group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(pipeline.package_version(), "--version", prog_name="rxrego")
@click.pass_context
def main(ctx: click.Context) -> None:
    """rxrego: drug prior-authorization policies as code, compiled to Open Policy Agent.

    \b
    The pipeline, one command a stage:
      rxrego check          validate the specs in policy_source/
      rxrego generate       write Rego v1 to rego/ (--check: is rego/ current?)
      rxrego lint           opa fmt, opa check --strict and Regal over rego/; opa test of lib
      rxrego conformance    golden cases in conformance/ on the real OPA binary
      rxrego run            all of the above, with a summary (what `make run` does)

    \b
    Serving decisions:
      rxrego bundle         the OPA bundle of rego/ (reproducible, optionally signed)
      rxrego serve          the real `opa run --server` on 127.0.0.1 with the bundle
      rxrego decide         one decision, locally or from a sidecar
      rxrego deploy-config  OPA configuration for sidecars fed by a bundle server

    \b
    The policy author's desk:
      rxrego render         the spec as a readable document (md or html)
      rxrego explain        a decision and its criteria tree, with the facts read
      rxrego diff           what changed between two spec versions, and which cases
      rxrego questionnaire  a FHIR R4 Questionnaire of the facts the policy needs
      rxrego questionnaire-decide  a completed QuestionnaireResponse, decided
      rxrego new            a new spec skeleton and golden-case file
      rxrego studio         a local page: fill a request as a form, see OPA decide it

    \b
    Setting up:
      rxrego init           a new policy repository for a payer (rxrego.toml, CI, ...)
      rxrego install-tools  the pinned OPA and Regal, into the repository's .tools/bin
      rxrego doctor         what would be used, and how to fix what is missing

    \b
    Exit status, for every command:
      0  done (decide, questionnaire-decide: approved)
      1  a check failed: stale Rego, failing cases, lint findings, differences found
         (decide, questionnaire-decide: a decision that is not an approval)
      2  bad input, named by file, line and field; a missing tool; no decision

    Every command works on the policy repository around the working directory: the nearest
    folder upwards holding rxrego.toml (its folders are the commands' defaults). Run
    `rxrego COMMAND --help` for each command's options; `rxrego doctor` checks the tools.
    """
    found = project.find()  # ProjectError (a wrong rxrego.toml) is reported by Group
    if found is not None:
        ctx.default_map = project.command_defaults(main.commands, found)


for _module in (pipeline, serving, author, repository):
    for _command in _module.COMMANDS:
        main.add_command(_command)
