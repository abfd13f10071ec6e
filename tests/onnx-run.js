#!/usr/bin/env node
// onnx-run.js - the ONNX Runtime side of tests/onnx.sh: runs MODEL.onnx
// (cnncc --emit=onnx) in onnxruntime-node on the N inputs of X.f32 and
// compares its output with REF.f32 (the training code's evaluation-mode
// outputs, tests/infer-ref.c):
//
//     node tests/onnx-run.js MODEL.onnx X.f32 REF.f32 N TOL DIM...
//
// DIM... is a sample's shape (the model's input without the batch axis).
// Fails (exit 1) unless every |got - want| / max(1, |want|) <= TOL; prints
// the largest such error either way.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function fail(msg) {
  process.stderr.write(`onnx-run.js: ${msg}\n`);
  process.exit(1);
}

function readF32(path) {
  const b = fs.readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

async function main(argv) {
  if (argv.length < 6) fail('usage: onnx-run.js MODEL.onnx X.f32 REF.f32 N TOL DIM...');
  const [model, xPath, refPath] = argv;
  const n = Number(argv[3]), tol = Number(argv[4]), dims = argv.slice(5).map(Number);
  const x = readF32(xPath), want = readF32(refPath);
  if (x.length !== n * dims.reduce((a, b) => a * b, 1)) fail(`${xPath}: ${x.length} values, not ${n} x [${dims}]`);
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [n, ...dims]) };
  const got = (await session.run(feeds))[session.outputNames[0]].data;
  if (got.length !== want.length) fail(`${refPath}: ${want.length} outputs, ONNX Runtime gives ${got.length}`);
  let err = 0, at = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(e <= err)) [err, at] = [e, i]; // NaN counts as the largest
  }
  console.log(`max error ${err} at ${at} (got ${got[at]}, want ${want[at]}) over ${got.length} outputs`);
  if (!(err <= tol)) fail(`error ${err} > ${tol}`);
}

main(process.argv.slice(2)).catch((e) => fail(e.message || String(e)));
