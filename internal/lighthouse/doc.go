// Package lighthouse runs Google Lighthouse (the npm package, as a Node child
// process driving a headless Chromium) on one URL and reads its result: the
// performance score, the lab metrics, the failed opportunities and
// diagnostics, the LCP element, and the full JSON and HTML reports. It backs
// the `page` checks of package checks, which schedule runs and store them.
//
// A Runner runs at most Options.Concurrency Lighthouse processes at a time;
// further runs wait in a bounded queue (ErrQueueFull past it). Each run has a
// timeout, after which (or on cancellation) the whole process group,
// Chromium's processes included, is killed. Runner.Available says whether
// Node, Lighthouse and Chromium are there, and if not, what to install and
// how; Find locates them (see Find for where it looks).
//
// The package owns only the child process and the reading of its report: it
// must not know about checks, stores or HTTP, and must not import them.
package lighthouse
