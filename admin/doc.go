// Package admin serves the JSON admin API of a company's Align integration
// (connection, outbox, webhook deliveries, reconciliation discrepancies, Retry
// Failed) behind JWT authentication, and assembles the serve router: the admin
// API, the webhook receiver and the operational endpoints.
//
// Invariant: every /api/companies/{companyID} route runs only for a verified
// token whose holder may act on that company (company_admin on its own,
// platform_admin on any); nothing else reaches a handler. Business rules stay
// in connect, ingest and pipeline; handlers translate HTTP to calls.
package admin
