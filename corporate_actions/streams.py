"""The ledger streams the corporate actions app writes (registered in CorporateActionsConfig.ready()).

- `corporate_action/<action id>`: corporate_action_announced, corporate_action_corrected (full new terms),
  corporate_action_cancelled; dividend_cash_recorded (statement custodians); split_applied,
  symbol_change_applied, delisting_applied.
- `dividend_snapshot/<action id>`: holders_snapshotted, at a dividend's record date or a split's effective time
  (a re-snapshot after a date correction is a new event on the same stream; the latest one counts).
- `payout_run/<run id>`: payout_run_created, holder_entitled (one per holder, with its postings),
  residue_booked, payout_run_approved, reinvest_shares_secured, tx_signed, tx_broadcast, tx_confirmed,
  tx_reverted, tx_dropped, holder_paid (one per holder, with its postings), payout_run_completed.
- `payout_policy/<ISIN>`: payout_policy_set (mode, minimum payout and its rule, fee) of one instrument.
- `holder_tax_profile/<address>`: tax_category_set for one wallet.
"""
CORPORATE_ACTION = "corporate_action"
DIVIDEND_SNAPSHOT = "dividend_snapshot"
PAYOUT_RUN = "payout_run"
PAYOUT_POLICY = "payout_policy"
HOLDER_TAX_PROFILE = "holder_tax_profile"

DESCRIPTIONS = {
    CORPORATE_ACTION: "a corporate action announcement, its corrections and how it was applied (stream id: action id)",
    DIVIDEND_SNAPSHOT: "token holders at a dividend's record date or a split's effective time, every network "
                       "(stream id: action id)",
    PAYOUT_RUN: "one dividend payout or split mint run: entitlements, approval, transactions, payments (stream id: run id)",
    PAYOUT_POLICY: "how an instrument's dividends are paid: airdrop or reinvest, minimum payout, fee (stream id: ISIN)",
    HOLDER_TAX_PROFILE: "withholding tax category of one token holder wallet (stream id: checksum address)",
}

SYSTEM_ACTOR = "system:corporate-actions"
IMPORT_ACTOR = "system:corporate-actions.import"
