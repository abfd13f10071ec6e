#!/usr/bin/env node
// ort-time.js - time an ONNX model in ONNX Runtime (npm onnxruntime-node),
// for bench/infer-latency.sh to put next to cnncc's inference code:
//
//     node bench/ort-time.js [--check IN.f32 OUT.f32] [--batch B] [--threads T]
//                            MODEL.onnx [SECONDS]
//
// MODEL.onnx is bench/ort-export.py's (one float input with a dynamic batch
// axis). The session runs with T intra-op threads (default 1), one inter-op
// thread, sequential execution and every graph optimization ('all').
// --check first runs the model on the inputs of IN.f32 and fails (exit 1)
// unless every output is within 1e-4 * max(1, |want|) of OUT.f32's.
// Then session.run on one batch of B (default 1) random samples, uniform in
// [0, 1) as bench/infer-time.c draws them: for a tenth of the time to warm
// up, then for SECONDS (default 2), timing every call. Prints "MIN MEDIAN":
// the fastest and the median call in microseconds (for B samples).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const TOLERANCE = 1e-4;

function fail(msg, status = 1) {
  process.stderr.write(`ort-time.js: ${msg}\n`);
  process.exit(status);
}

function parseArgs(argv) {
  const o = { batch: 1, threads: 1, seconds: 2, check: null, model: null };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check' && i + 2 < argv.length) o.check = [argv[++i], argv[++i]];
    else if (argv[i] === '--batch' && i + 1 < argv.length) o.batch = Number(argv[++i]);
    else if (argv[i] === '--threads' && i + 1 < argv.length) o.threads = Number(argv[++i]);
    else rest.push(argv[i]);
  }
  if (rest.length < 1 || rest.length > 2 || !(o.batch >= 1) || !(o.threads >= 1))
    fail('usage: ort-time.js [--check IN.f32 OUT.f32] [--batch B] [--threads T] MODEL.onnx [SECONDS]', 2);
  o.model = rest[0];
  if (rest.length > 1) o.seconds = Number(rest[1]);
  if (!(o.seconds > 0)) fail(`not a number of seconds: ${rest[1]}`, 2);
  return o;
}

function readF32(path) {
  const b = fs.readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

// The model's output for IN.f32 against OUT.f32 (the PyTorch mirror's).
async function check(session, sampleShape, inPath, outPath) {
  const x = readF32(inPath), want = readF32(outPath);
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [n, ...sampleShape]) };
  const got = (await session.run(feeds))[session.outputNames[0]].data;
  if (got.length !== want.length) fail(`${outPath}: ${want.length} outputs, ONNX Runtime gives ${got.length}`);
  let err = 0;
  for (let i = 0; i < got.length; i++)
    err = Math.max(err, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  if (!(err <= TOLERANCE))
    fail(`ONNX Runtime's outputs are off PyTorch's (${outPath}) by ${err} (tolerance ${TOLERANCE})`);
}

// The same samples as bench/infer-time.c: its linear congruential generator.
function randomInput(n) {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = (s >>> 8) / 16777216;
  }
  return x;
}

async function time(session, feeds, seconds) {
  const now = () => Number(process.hrtime.bigint()) * 1e-9;
  let start = now();
  while (now() - start < seconds / 10) await session.run(feeds);
  const t = [];
  start = now();
  for (;;) {
    const t0 = now();
    await session.run(feeds);
    const t1 = now();
    t.push(t1 - t0);
    if (t1 - start >= seconds) break;
  }
  t.sort((a, b) => a - b);
  return [t[0], t[t.length >> 1]];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const sampleShape = session.inputMetadata[0].shape.slice(1);
  if (o.check) await check(session, sampleShape, o.check[0], o.check[1]);
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const x = new ort.Tensor('float32', randomInput(o.batch * size), [o.batch, ...sampleShape]);
  const [min, med] = await time(session, { [session.inputNames[0]]: x }, o.seconds);
  console.log(`${(min * 1e6).toFixed(2)} ${(med * 1e6).toFixed(2)}`);
}

main().catch((e) => fail(e.message));
