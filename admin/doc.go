// Package admin serves the JSON admin API of a company's Align integration
// (connection, outbox, webhook deliveries, reconciliation discrepancies, Retry
// Failed) behind JWT authentication, the same as server-rendered pages under
// /admin/ (Company Settings → Integrations → Align, and Admin → Align Sync),
// and assembles the serve router: the admin API, the pages, the webhook
// receiver and the operational endpoints.
//
// Invariant: every /api/companies/{companyID} route and every page or form of
// a company runs only for a verified token whose holder may act on that
// company (company_admin on its own, platform_admin on any), decided by one
// function for both; nothing else reaches a handler, and no page shows
// another company's rows. Business rules stay in connect, ingest and
// pipeline; handlers and pages translate HTTP to the same calls.
//
// The pages take the token from an Authorization: Bearer header or from the
// HttpOnly, SameSite=Strict session cookie that /admin/login?token=… sets
// after verifying the token; the cookie holds the token itself, so it is
// verified on every request like a bearer token and the server keeps no
// session. Every state-changing form carries a CSRF token, the HMAC-SHA256 of
// the request's token under a key derived from the JWT secret; a form without
// the token of its own session is refused with 403. No page ever contains an
// API key or a webhook secret, only a key's last four characters.
package admin
