"""The ledger streams the custody app writes (registered in CustodyConfig.ready()).

- `instrument/<ISIN>`: created, paused, resumed, delisted, ratio or symbol changed; actor = the operator.
- `custody_account/<account name>`: everything one custody account did or reported: broker activities
  (with postings), orders we placed (submitted, filled or closed; no postings: the fills carry them) and
  positions observations (no postings).
- `custody_statement/<account name>`: one `statement_imported` observation per imported custodian file
  (no postings). One stream per account, so an account's statements read in order.
"""
INSTRUMENT = "instrument"
CUSTODY_ACCOUNT = "custody_account"
CUSTODY_STATEMENT = "custody_statement"

DESCRIPTIONS = {
    INSTRUMENT: "instrument reference data changes by operations (stream id: ISIN)",
    CUSTODY_ACCOUNT: "broker activities, orders and positions observations of one custody account (stream id: account name)",
    CUSTODY_STATEMENT: "custodian statements imported for one custody account (stream id: account name)",
}

SYNC_ACTOR = "system:custody.sync"
