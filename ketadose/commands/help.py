"""How each command's --help reads (issue 16 item 6): the command's own options first, the
options every command shares (-o, --force, -q, --regimens, -h) grouped last, and 2-4 examples.

Examples are kept here, one list per command, so that a test can run every one of them.
"""

from __future__ import annotations

import click

PATIENT = ("patient_path", "weight", "height", "age", "sex", "pregnant", "breastfeeding", "bp",
           "heart_rate", "conditions", "no_conditions", "medications", "no_medications",
           "allergies", "no_allergies", "no_previous_courses", "alt", "ast", "alp", "ggt",
           "bilirubin")
BATCH = ("patients", "patients_format", "max_line")
SHARED = ("output_path", "force_output", "quiet", "more_regimen_dirs", "help",
          "_click_default_help")
"""Parameter names of the options that several commands share, shown after the command's own
in sections of their own (the patient, the batch, and every command's output options)."""

SECTIONS = (("Patient (a file, flags, or both)", PATIENT), ("Batch", BATCH),
            ("Shared options", SHARED))

EXAMPLES: dict[str, list[str]] = {
    "validate": ["ketadose validate my-regimen.yaml",
                 "ketadose validate clinic/ --format github",
                 "ketadose validate crps-schwartzman-2009 --explain"],
    "schema": ["ketadose schema patient -o patient.schema.json",
               "ketadose schema regimen --format markdown",
               "ketadose schema plan"],
    "limits": ["ketadose limits", "ketadose limits --format json"],
    "rules": ["ketadose rules", "ketadose rules KD-CI-002", "ketadose rules --format json"],
    "list": ["ketadose list", "ketadose list --condition crps --route iv",
             "ketadose --regimens clinic/ list --format json"],
    "show": ["ketadose show crps-schwartzman-2009", "ketadose show clinic/local.yaml --format yaml"],
    "new": ["ketadose new crps-schwartzman-2009 -o clinic/crps-local.yaml",
            "ketadose new consensus-cohen-2018 --id cohen-clinic -o clinic/cohen-clinic.yaml"],
    "check": ["ketadose check --patient examples/patient.yaml",
              "ketadose check crps-schwartzman-2009 --age 45 --weight 72kg --no-medications",
              "ketadose check crps-goldberg-2010 --patients clinic.jsonl -o checks.jsonl"],
    "plan": ["ketadose plan crps-schwartzman-2009 --patient examples/patient.yaml",
             "ketadose plan crps-goldberg-2010 --patient examples/patient.yaml "
             "--start 2026-12-01T09:00 --format html -o plan.html",
             "ketadose plan consensus-cohen-2018 --weight 80kg --age 50 --explain",
             "ketadose plan crps-schwartzman-2009 --patients clinic.csv -o plans.jsonl"],
    "simulate": ["ketadose simulate crps-schwartzman-2009 --patient examples/patient.yaml",
                 "ketadose simulate crps-goldberg-2010 --weight 70kg --plot course.svg",
                 "ketadose simulate crps-sigtermans-2009 --weight 70kg --population 500"],
    "compare": ["ketadose compare crps-schwartzman-2009 crps-goldberg-2010 "
                "--patient examples/patient.yaml --plot compare.svg",
                "ketadose compare crps-schwartzman-2009 consensus-cohen-2018 --weight 70kg "
                "--format csv",
                "ketadose compare crps-goldberg-2010 crps-sigtermans-2009 --weight 70kg "
                "--population 500 --format csv --explain"],
    "models": ["ketadose models", "ketadose models --format json"],
    "verify": ["ketadose plan crps-schwartzman-2009 --patient examples/patient.yaml "
               "--format json -o plan.json && ketadose verify plan.json",
               "ketadose verify check.json --format json"],
    "import": ["ketadose import bundle.json",
               "ketadose import bundle.json --record-only -o patient.yaml",
               "ketadose import bundle.json --stale-after liver=14"],
    "serve": ["ketadose serve --no-auth --port 8080",
              "ketadose serve --jwks issuers.json --public-url https://cds.example.org"],
    "vocabulary": ["ketadose vocabulary", "ketadose vocabulary --format json"],
    "docs": ["ketadose docs", "ketadose docs evidence",
             "ketadose docs docs/regimen-format.md -o format.md"],
}


class Command(click.Command):
    """A command whose help lists its own options, then the shared ones, then examples."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        own: list[tuple[str, str]] = []
        grouped: dict[str, list[tuple[str, str]]] = {title: [] for title, _ in SECTIONS}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None or not isinstance(param, click.Option):
                continue
            title = next((t for t, names in SECTIONS if param.name in names), None)
            (grouped[title] if title else own).append(record)
        for title, records in (("Options", own), *grouped.items()):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        examples = EXAMPLES.get(self.name or "")
        if examples:
            with formatter.section("Examples"):
                for example in examples:  # as typed: never rewrapped
                    formatter.write(f"{'':>{formatter.current_indent}}{example}\n")
