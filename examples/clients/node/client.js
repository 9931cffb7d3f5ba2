#!/usr/bin/env node
// A small dispatch-tagger client with @grpc/grpc-js and @grpc/proto-loader
// (the .proto is loaded at run time: no generated code).
//
//   npm ci
//   node client.js classify ../../../../shared/examples/aleppo-fr.txt
//   node client.js summarize ../../../../shared/examples/aleppo-fr.txt
//   node client.js stream ../dispatches.jsonl       # one JSON object a line
//
// --addr HOST:PORT picks the server (default localhost:50051), --gzip
// compresses requests (grpc-js asks for compressed answers either way), --timeout S
// sets the call's deadline in seconds, --language fr|en gives the language
// hint and --candidate-topics CODES the topic codes a desk files under
// (comma-separated, e.g. medtop:04000000,medtop:11000000): topics are then
// chosen among those only.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.join(__dirname, '..', '..', '..', 'proto');

function parseArgs(argv) {
  const args = { addr: 'localhost:50051', gzip: false, timeout: null, language: '', candidateTopics: [], rest: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--addr') args.addr = argv[++i];
    else if (argv[i] === '--gzip') args.gzip = true;
    else if (argv[i] === '--timeout') args.timeout = Number(argv[++i]);
    else if (argv[i] === '--language') args.language = argv[++i];
    else if (argv[i] === '--candidate-topics') args.candidateTopics = argv[++i].split(',').filter((c) => c);
    else args.rest.push(argv[i]);
  }
  const [command, file] = args.rest;
  if (!['classify', 'summarize', 'stream'].includes(command) || !file) {
    console.error('usage: node client.js classify|summarize|stream FILE [--addr HOST:PORT] [--gzip] [--timeout S] [--language fr|en] [--candidate-topics CODES]');
    process.exit(2);
  }
  return { ...args, command, file };
}

function client(args) {
  const definition = protoLoader.loadSync('dispatch/v1/dispatch.proto', {
    includeDirs: [PROTO_ROOT],
    longs: String, // uint64 fields as strings, like the proto3 JSON mapping
    defaults: true,
  });
  const { DispatchTaggerService } = grpc.loadPackageDefinition(definition).dispatch.v1;
  const options = args.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}; // 2 = gzip
  return new DispatchTaggerService(args.addr, grpc.credentials.createInsecure(), options);
}

function callOptions(args) {
  return args.timeout ? { deadline: Date.now() + args.timeout * 1000 } : {};
}

function fail(err) {
  console.error(`error: ${grpc.status[err.code]}: ${err.details}`);
  process.exit(1);
}

const tags = (list) => list.map((t) => `${t.name} ${t.score.toFixed(2)}`).join(', ');

function classify(stub, args) {
  const text = fs.readFileSync(args.file, 'utf8');
  const id = path.parse(args.file).name;
  const request = { id, text, language: args.language, candidateTopics: args.candidateTopics };
  stub.Classify(request, callOptions(args), (err, answer) => {
    if (err) return fail(err);
    console.log(`language: ${answer.language}`);
    console.log(`topics:   ${tags(answer.topics)}`);
    console.log(`regions:  ${tags(answer.regions)}`);
    console.log(`places:   ${answer.places.map((p) => `${p.name} (${p.mentions})`).join(', ')}`);
    stub.close();
  });
}

function summarize(stub, args) {
  const text = fs.readFileSync(args.file, 'utf8');
  const id = path.parse(args.file).name;
  stub.Summarize({ id, text, language: args.language }, callOptions(args), (err, answer) => {
    if (err) return fail(err);
    console.log(answer.summary);
    stub.close();
  });
}

// Sends one request per line as fast as HTTP/2 flow control allows: when
// write() returns false, reading the file pauses until 'drain'. Answers
// come back in request order.
async function stream(stub, args) {
  const call = stub.ClassifyStream(callOptions(args));
  call.on('data', (a) => {
    const top = a.topics.length ? a.topics[0].code : '-';
    const region = a.regions.length ? a.regions[0].code : '-';
    console.log(`${a.id}\t${a.language}\t${top}\t${region}`);
  });
  call.on('error', fail);
  call.on('end', () => stub.close());
  const lines = readline.createInterface({ input: fs.createReadStream(args.file, 'utf8') });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const request = {
      id: r.id || '',
      title: r.title || '',
      text: r.text || '',
      language: r.language || args.language,
      candidateTopics: args.candidateTopics,
    };
    if (!call.write(request)) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.end();
}

const args = parseArgs(process.argv.slice(2));
({ classify, summarize, stream })[args.command](client(args), args);
