"""Artifact texts for the demo milestones: what a real squad might write."""

SYSTEM_ARCHITECTURE = """\
Checkout hands card details to the vault provider directly from the browser;
our services only ever see tokens.

```mermaid
flowchart LR
  shopper([Shopper]) --> checkout[Checkout web app]
  checkout -- card details --> vault[[Vault provider]]
  vault -- token --> checkout
  checkout -- token + order --> payments[Payments service]
  payments --> ledger[(Ledger DB)]
  payments -- charge by token --> psp[[Payment processor]]
```
"""

APPLICATION_ARCHITECTURE = """\
Inside the payments service, a new `vault` module owns every call to the
provider; the charge flow asks it for a network token and never stores a PAN.

```mermaid
flowchart TB
  subgraph payments[Payments service]
    api[Charge API] --> charge[Charge flow]
    charge --> vaultmod[vault module]
    vaultmod --> client[Provider client]
    charge --> repo[Payment repository]
  end
  client --> provider[[Vault provider API]]
  repo --> db[(Ledger DB)]
```
"""

PROTOCOL_SPECS = """\
## Tokenise (browser → provider)

| field | type | note |
| --- | --- | --- |
| `pan` | string | never reaches our servers |
| `expiry` | `MM/YY` | |
| `return` | `token`, `last4`, `brand` | |

## Charge by token (checkout → payments)

`POST /v2/charges` with `{"order_id", "token", "amount": {"value", "currency"}}`;
answers `201` with the charge, `402` when declined, `409` on a repeated `order_id`.
"""

SEQUENCE_DIAGRAM = """\
```mermaid
sequenceDiagram
  participant B as Browser
  participant V as Vault provider
  participant P as Payments service
  participant X as Processor
  B->>V: card details
  V-->>B: token
  B->>P: POST /v2/charges (token)
  P->>V: detokenise for processor
  P->>X: charge
  X-->>P: approved
  P-->>B: 201 charge
```
"""

DESIGN_SPEC = """\
## Goal
Stop storing card numbers: every saved card becomes a provider token.

## Scope
- New `vault` module and provider client with retries and idempotency keys.
- Checkout tokenises in the browser; the charge API accepts tokens only.
- Out of scope: migrating cards saved before the switch (next milestone).

## Data model
`payment_method.token` replaces `payment_method.pan_encrypted`, which is
dropped after the migration milestone.

## Rollout
Behind the `vault_checkout` flag, 5% → 50% → 100% over two weeks; the old
path stays until the flag is removed.
"""

WEBHOOK_SYSTEM = """\
```mermaid
flowchart LR
  provider[[Card network updater]] -- card updated --> hook[Webhook receiver]
  hook --> queue[(Job queue)]
  queue --> worker[Update worker]
  worker --> db[(Ledger DB)]
```
"""

WEBHOOK_APPLICATION = """\
```mermaid
flowchart TB
  receiver[Signed webhook endpoint] --> verify{Signature valid?}
  verify -- no --> reject[401 and alert]
  verify -- yes --> enqueue[Enqueue update job]
  enqueue --> apply[Apply new expiry / token]
```
"""

WEBHOOK_PROTOCOL_DRAFT = """\
## Card updated (provider → us)

`POST /hooks/card-updated`, header `X-Signature: sha256=…`

| field | type |
| --- | --- |
| `token` | string |
| `new_expiry` | `MM/YY` |
| `event_id` | string, used for de-duplication |
"""

WALLET_SYSTEM_DRAFT = """\
```mermaid
flowchart LR
  app([Mobile app]) --> wallet[Wallet API]
  wallet --> payments[Payments service]
```
"""
