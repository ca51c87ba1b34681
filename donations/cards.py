"""Changing the bank card an award is paid to: maker-checker, as for every other way money could be redirected.

The card given with the application was entered by one officer and reviewed by another: that is a verified card.
A grant is paid only to a verified card (DOMAIN.md; issue 17): a payment may name a card only when it is the one on
file, any other card is a 409 that says to propose a change, and an award with no card on file is a 409 too (a card
given at payment would be one person's word). A change is proposed by one user (`proposed`) and approved or rejected
by a different user with the reviewer's role; only an approval writes the new card on the award, which the next
payment then uses. Cards are stored whole (the bank needs them) and shown and audited masked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from donations.lifecycle import AWARD, CARD_CHANGE, AwardStatus
from donations.models import Award, CardChange
from donations.selection import MAKER_CHECKER, checked_card
from service import audit, lifecycle
from service.auth import AuthUser
from service.db import utcnow
from service.errors import CONFLICT, UNPROCESSABLE, Problem, problem_type
from service.identity import mask_bank_card
from service.lookups import get_or_404

CARD_MISMATCH = problem_type(
    "bank-card-not-on-file", 409, "银行卡号与登记的不一致", "The bank card is not the one on file"
)
CARD_NOT_VERIFIED = problem_type("bank-card-not-verified", 409, "没有经复核的银行卡", "No verified bank card on file")
PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"


def _masked(card: str | None) -> str | None:
    return mask_bank_card(card) if card else None


def snapshot(change: CardChange) -> dict[str, Any]:
    """The audit trail's view of a change: both cards masked."""
    return {
        **audit.model_snapshot(change, exclude=("bank_card", "previous_card")),
        "bank_card": _masked(change.bank_card),
        "previous_card": _masked(change.previous_card),
    }


def card_for_payment(award: Award, card: str | None) -> str:
    """The card a payment goes to: the verified one on file; none on file, or a different one, only through an
    approved change (409)."""
    given = checked_card(card)
    if award.bank_card is None:
        raise Problem(
            CARD_NOT_VERIFIED,
            "该资助没有经复核的银行卡，未发放。请先提出银行卡变更，经另一位复核人批准后再发放。",
            "The award has no verified bank card; nothing was paid. Propose the card as a change and have another "
            "user approve it first.",
            field="bank_card",
        )
    if given is None or given == award.bank_card:
        return award.bank_card
    raise Problem(
        CARD_MISMATCH,
        f"银行卡 {mask_bank_card(given)} 与该资助登记的银行卡 {mask_bank_card(award.bank_card)} 不一致，未发放。"
        "如需更换银行卡，请先提出变更，经另一位复核人批准后再发放。",
        f"Card {mask_bank_card(given)} is not the card on file ({mask_bank_card(award.bank_card)}); nothing was "
        "paid. Propose a card change and have another user approve it first.",
        field="bank_card",
    )


async def get_change(session: AsyncSession, change_id: int) -> CardChange:
    change = await get_or_404(session, CardChange, change_id, "银行卡变更", "Bank card change")
    return change


async def changes_of(session: AsyncSession, award_id: int | None = None, status: str | None = None) -> list[CardChange]:
    where = [CardChange.award_id == award_id] if award_id is not None else []
    if status:
        where.append(CardChange.status == status)
    return list((await session.scalars(select(CardChange).where(*where).order_by(CardChange.id))).all())


async def propose(session: AsyncSession, award_id: int, card: str, reason: str, user: AuthUser) -> CardChange:
    award = await get_or_404(session, Award, award_id, "资助", "Award")
    new = checked_card(card)
    assert new is not None
    if award.status not in (AwardStatus.AWARDED.value, AwardStatus.UNDER_REVIEW.value):
        raise AWARD.refusal(award.status, AwardStatus.PAID)  # a paid or revoked award is paid to no card again
    if new == award.bank_card:
        raise Problem(
            UNPROCESSABLE, "新银行卡与登记的相同。", "The new card is the card on file already.", field="bank_card"
        )
    if await session.scalar(
        select(CardChange.id).where(CardChange.award_id == award.id, CardChange.status == PROPOSED)
    ):
        raise Problem(
            CONFLICT,
            "该资助已有待审批的银行卡变更。",
            "A card change for this award is already awaiting approval.",
            field="award_id",
        )
    change = CardChange(
        award_id=award.id,
        status=PROPOSED,
        bank_card=new,
        previous_card=award.bank_card,
        reason=reason,
        proposed_by=user.id,
        proposed_by_name=user.actor,
    )
    session.add(change)
    await session.flush()
    await audit.record(session, user.actor, "propose", CARD_CHANGE.entity, change.id, None, snapshot(change))
    return change


async def decide(session: AsyncSession, change_id: int, user: AuthUser, approve: bool, note: str | None) -> CardChange:
    """A second person's decision; an approval writes the card on the award (if it is still unpaid)."""
    change = await get_change(session, change_id)
    if change.proposed_by == user.id:
        raise Problem(
            MAKER_CHECKER,
            "提出银行卡变更的人不能自己审批，请由另一位复核人审批。",
            "The user who proposed a card change cannot approve or reject it.",
        )
    wanted = APPROVED if approve else REJECTED
    CARD_CHANGE.check(change.status, wanted)
    if approve:
        award = await get_or_404(session, Award, change.award_id, "资助", "Award")
        if award.status not in (AwardStatus.AWARDED.value, AwardStatus.UNDER_REVIEW.value):
            raise AWARD.refusal(award.status, AwardStatus.PAID)
        before = {"bank_card": _masked(award.bank_card)}
        award.bank_card = change.bank_card
        await session.flush()
        await audit.record(
            session, user.actor, "change-card", AWARD.entity, award.id, before, {"bank_card": _masked(award.bank_card)}
        )
    before = snapshot(change)
    change.decided_by, change.decided_by_name, change.decided_at = user.id, user.actor, utcnow()
    change.decision_note = note
    return await lifecycle.move(
        session,
        CARD_CHANGE,
        change,
        wanted,
        actor=user.actor,
        action="approve" if approve else "reject",
        before=before,
        after={**snapshot(change), "status": wanted},
    )
