// A tiny stand-in for ClickHouse's HTTP interface over chDB (current
// ClickHouse as a library, npm package chdb), so that the ClickHouse store's
// tests run against a current server's SQL, types and features, not only
// Debian's 18.16. It serves one chDB session (a data dir) on 127.0.0.1:
//   POST /?query=INSERT INTO [db.]t FORMAT RowBinary|TabSeparated   body: the rows
//   POST /?setting=value...                        body: the SQL
//   GET  /ping                                     Ok.
// Requests run one at a time. Errors answer 500 with chDB's message
// ("Code: N. DB::Exception: ..."), as clickhouse-server does. Test use only.
//
//   node server.js PORT DATADIR    (NODE_PATH: the dir holding chdb)
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const { Session } = require('chdb');

const [port, dir] = process.argv.slice(2);
if (!port || !dir) {
  console.error('usage: node server.js PORT DATADIR');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const session = new Session(path.join(dir, 'data'));
const tmp = path.join(dir, 'tmp');
fs.mkdirSync(tmp, { recursive: true });

// Session-wide settings the store and the SQL API's tests send with their
// reads (the last request's value holds until a request sends another).
const sessionSettings = new Set(['output_format_json_quote_64bit_integers', 'output_format_json_quote_denormals', 'max_execution_time']);
// Per-insert settings passed on in the INSERT's SETTINGS clause.
const insertSettings = new Set(['insert_deduplicate', 'insert_deduplication_token']);

const quote = (s) => "'" + String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";

async function run(sql) {
  const r = await session.queryAsync(sql, { format: 'TabSeparated' });
  return Buffer.from(r.bytes());
}

let seq = 0;
async function handle(params, body) {
  const settings = [];
  for (const [k, v] of params) {
    if (k === 'query') continue;
    if (sessionSettings.has(k)) await run('SET ' + k + ' = ' + quote(v));
    else if (insertSettings.has(k)) settings.push(k + ' = ' + quote(v));
  }
  const q = params.get('query');
  if (q === null) return run(body.toString('utf8'));
  const m = /^\s*INSERT INTO (?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*) FORMAT (RowBinary|TabSeparated)\s*$/.exec(q);
  if (!m) throw new Error('Code: 62. DB::Exception: chdb-http: only INSERT INTO [db.]table FORMAT RowBinary|TabSeparated takes a body');
  if (m[1] === undefined) m[1] = (await run('SELECT currentDatabase()')).toString('utf8').trim();
  const cols = (await run('SELECT name, type FROM system.columns WHERE database = ' + quote(m[1]) + ' AND table = ' + quote(m[2]) + ' ORDER BY position')).toString('utf8').trim();
  if (!cols) throw new Error('Code: 60. DB::Exception: Table ' + m[1] + '.' + m[2] + ' does not exist');
  const structure = cols.split('\n').map((l) => l.replace('\t', ' ')).join(', ');
  const file = path.join(tmp, 'insert-' + process.pid + '-' + (seq++) + '.bin');
  fs.writeFileSync(file, body);
  try {
    return await run('INSERT INTO ' + m[1] + '.' + m[2] + (settings.length ? ' SETTINGS ' + settings.join(', ') : '') +
      ' SELECT * FROM file(' + quote(file) + ', ' + quote(m[3]) + ', ' + quote(structure) + ')');
  } finally {
    fs.rmSync(file, { force: true });
  }
}

let queue = Promise.resolve();
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/ping') {
    res.end('Ok.\n');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    queue = queue.then(() => handle(u.searchParams, Buffer.concat(chunks)).then(
      (out) => { res.writeHead(200, { 'Content-Type': 'text/tab-separated-values; charset=UTF-8' }); res.end(out); },
      (err) => { res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8' }); res.end(String(err && err.message || err) + '\n'); },
    ));
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log('chdb-http listening on 127.0.0.1:' + port));
const stop = () => { server.close(); session.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
