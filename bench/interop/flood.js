#!/usr/bin/env node
// Streams N one-line dispatches over one ClassifyStream with @grpc/grpc-js
// and checks every answer comes back in order. By default each write waits
// for 'drain' when grpc-js asks (as fast as flow control allows);
// --write-all-first writes every request before reading any answer (grpc-js
// then holds the backlog in the client's memory). Uses the packages of
// examples/clients/node (npm ci there first):
//
//   node bench/interop/flood.js --addr 127.0.0.1:50051 -n 100000 [--write-all-first] [--gzip]
'use strict';

const path = require('path');
const nodeDir = path.join(__dirname, '..', '..', 'examples', 'clients', 'node', 'node_modules');
const grpc = require(path.join(nodeDir, '@grpc', 'grpc-js'));
const protoLoader = require(path.join(nodeDir, '@grpc', 'proto-loader'));

const args = { addr: '127.0.0.1:50051', n: 100000, writeAllFirst: false, gzip: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--addr') args.addr = process.argv[++i];
  else if (a === '-n') args.n = Number(process.argv[++i]);
  else if (a === '--write-all-first') args.writeAllFirst = true;
  else if (a === '--gzip') args.gzip = true;
}

const definition = protoLoader.loadSync('dispatch/v1/dispatch.proto', {
  includeDirs: [path.join(__dirname, '..', '..', 'proto')],
});
const { DispatchTaggerService } = grpc.loadPackageDefinition(definition).dispatch.v1;
const options = args.gzip ? { 'grpc.default_compression_algorithm': 2 } : {};
const stub = new DispatchTaggerService(args.addr, grpc.credentials.createInsecure(), options);
const text = 'Shares fell in Tokyo as the yen rose against the dollar.';
const started = Date.now();
const call = stub.ClassifyStream();
let got = 0;
const done = (ok, what) => {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const mb = (process.memoryUsage().rss / 1048576).toFixed(0);
  console.log(`grpc-js ${args.writeAllFirst ? 'write-all-first' : 'flow-controlled'}: ${ok ? 'OK' : 'FAIL'} ${what} in ${secs}s (client RSS ${mb} MB)`);
  process.exit(ok ? 0 : 1);
};
call.on('error', (e) => done(false, `after ${got} answers: ${grpc.status[e.code]} ${e.details}`));
call.on('end', () => (got === args.n ? done(true, `${got} answers in order`) : done(false, `${got} answers for ${args.n}`)));

async function send() {
  for (let i = 0; i < args.n; i++) {
    if (!call.write({ id: `d${i}`, text }) && !args.writeAllFirst) {
      await new Promise((resolve) => call.once('drain', resolve));
    }
  }
  call.end();
}

function read() {
  call.on('data', (a) => {
    if (a.id !== `d${got}`) done(false, `answer ${got} has id ${a.id}`);
    got++;
  });
}

if (args.writeAllFirst) {
  send().then(read);
} else {
  read();
  send();
}
