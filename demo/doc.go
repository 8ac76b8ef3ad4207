// Package demo runs the whole pipeline in one process on embedded defaults:
// a temporary PostgreSQL (or DATABASE_URL), the embedded Kafka broker, the
// Align simulator, capture, sink, serve and reconcile. It connects companies
// through the real connect flow, drives a realistic workload while the
// simulator's managers approve, reject, lock and invoice, prints progress,
// and ends with a convergence report.
//
// Invariant: the demo only writes Illumera's tables (as the application
// would) and uses the simulator's manager actions; everything else is the
// product doing its job, so the convergence report is a real check.
package demo
