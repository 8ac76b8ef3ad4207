// Package admin serves the JSON admin API of a company's Align integration
// (connection, outbox, webhook deliveries, reconciliation discrepancies, Retry
// Failed) behind JWT authentication, the same as server-rendered pages under
// /admin/ (Company Settings → Integrations → Align, and Admin → Align Sync).
// It builds nothing it depends on: serve (cmd/alignsync) hands it the connect
// workflow and the webhook receiver, and mounts it with the receiver and the
// operational endpoints on one router.
//
// Invariant: every /api/companies/{companyID} route and every page or form of
// a company runs only for a verified token whose holder may act on that
// company (company_admin on its own, platform_admin on any), decided by one
// function for both; nothing else reaches a handler, and no page shows
// another company's rows. Business rules stay in connect, ingest and
// pipeline; handlers and pages translate HTTP to the same calls.
//
// The pages take an API token from an Authorization: Bearer header, or a
// session from the HttpOnly, SameSite=Strict cookie that a sign-in link
// (/admin/login?token=…) sets. The link carries a sign-in token, not an API
// token: valid at most ten minutes (MaxSignInLifetime), good once, and
// exchanged for a session kept in the database whose cookie holds only a
// random id; signing out or the session's expiry ends it on the server. A
// sign-in token is refused as an API token and an API token as a sign-in
// token. Every state-changing form carries a CSRF token, the HMAC-SHA256 of
// the session's id (or the bearer token) under a key derived from the JWT
// secret; a form without the token of its own session is refused with 403.
// No page ever contains an API key or a webhook secret, only a key's last
// four characters.
package admin
