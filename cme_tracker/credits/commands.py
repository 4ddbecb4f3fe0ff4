"""``cme-tracker credits``: a member's credits in a year, as a table for people or as the JSON contract."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cme_tracker.amounts import format_amount
from cme_tracker.console import open_database, reports_domain_errors, year_options
from cme_tracker.credits.engine import FIELDS
from cme_tracker.vocabulary import YearBasis

if TYPE_CHECKING:
    from cme_tracker.credits.services import MemberCredits


@click.group("credits")
def credits() -> None:
    """Credits earned by members."""


@credits.command("show")
@click.argument("member_no")
@year_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document the API returns.")
@reports_domain_errors
def show_command(member_no: str, year: int, year_basis: str, as_json: bool) -> None:
    """The credits of MEMBER_NO in a year under every enabled policy that applies to them."""
    # deferred: the services load SQLAlchemy and the models, which `credits show --help` does not need
    from cme_tracker.credits.services import member_credits_by_number

    with open_database().unit_of_work() as session:
        result = member_credits_by_number(session, member_no, year, YearBasis(year_basis))
    if as_json:
        # deferred: the JSON schema loads the models (SQLAlchemy), which `--help` must not wait for
        from cme_tracker.credits.schemas import member_credits_json

        click.echo(json.dumps(member_credits_json(result), ensure_ascii=False))
        return
    click.echo(_table(result))


def _table(result: MemberCredits) -> str:
    """Totals per policy and field, then one row per lecture with the amount under each policy."""

    policy_codes = list(result.policies)
    totals = [["policy", "version", "total", *(field.value for field in FIELDS), "codes"]]
    for code, policy in result.policies.items():
        totals.append(
            [
                code,
                policy.version,
                f"{format_amount(policy.total)} {policy.unit_name}",
                *(format_amount(policy.by_field[field]) for field in FIELDS),
                "-" if policy.codes is None else " ".join(policy.codes) or "none",
            ]
        )
    lectures = [["date", "lecture", "field", "minutes", *policy_codes, "title"]]
    for line in result.lines:
        awards = []
        for code in policy_codes:
            award = line.awards.get(code)
            amount = "-" if award is None else format_amount(award.amount)
            awards.append(amount if award is None or award.code is None else f"{amount} [{award.code}]")
        lectures.append(
            [
                line.symposium_date.isoformat(),
                line.lecture_code,
                line.field.value,
                str(line.minutes),
                *awards,
                line.title_ja if not line.title_en else f"{line.title_ja} / {line.title_en}",
            ]
        )
    heading = f"Member {result.member_no}, {result.basis.value} year {result.year}"
    if not result.policies:
        return f"{heading}\nno enabled credit policy applies to this member"
    body = [heading, "", *_aligned(totals), ""]
    body += _aligned(lectures) if result.lines else ["no attendance in this year"]
    return "\n".join(body)


def _aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell; the last column (titles, Japanese) is left unpadded."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    ]
