// Module hooks that Alidade's Lighthouse runner loads into Node (through
// register.mjs) to fix, in memory, what breaks Lighthouse 12.2.3 on newer
// Chromium: from Chromium ~13x its trace's PipelineReporter events carry
// `frame_reporter` where the trace engine 12.2.3 bundles reads
// `chrome_frame_reporter`, and that TypeError fails the LCP element, layout
// shift, render-blocking and LCP-image audits. Files are never changed; a
// Lighthouse whose source differs is loaded as it is.
const fixes = [{
  file: '/@paulirish/trace_engine/models/trace/handlers/ScreenshotsHandler.js',
  from: 'evt.args.data.beginEvent.args.chrome_frame_reporter.frame_sequence',
  to: '(evt.args.data.beginEvent.args.chrome_frame_reporter ?? evt.args.data.beginEvent.args.frame_reporter ?? {}).frame_sequence',
}];

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  const fix = fixes.find(f => url.endsWith(f.file));
  if (!fix || result.source == null) return result;
  const src = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source);
  return {...result, source: src.replace(fix.from, fix.to)};
}
