// nn_ort.js - ONNX Runtime side of bench/nn: run MODEL at WxH, batch N, T threads, R timed runs
// (after one untimed warm-up) and print the median as one key=value line, like `vas nn-run`,
// with the process's peak RSS and its RSS before the session was made.
// Usage: node bench/nn_ort.js MODEL W H N T R [OUTPREFIX]
// With OUTPREFIX each output is written to OUTPREFIX.<name>.f32 (the input is the same
// pseudo-random sequence `vas nn-run` uses), so the two engines' answers can be compared.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, w, h, n, t, r, prefix] = process.argv.slice(2);
  const W = +w, H = +h, N = +n, T = +t, R = +r;
  const base = process.resourceUsage().maxRSS;
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: T, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const x = new Float32Array(N * 3 * H * W);
  let s = 2463534242;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    x[i] = (s >>> 8) / 16777216 * 2 - 1;
  }
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x, [N, 3, H, W]) };
  const first = await sess.run(feeds);
  if (prefix) {
    for (const name of sess.outputNames) {
      const d = first[name].data;
      fs.writeFileSync(`${prefix}.${name}.f32`, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  const ms = [];
  for (let i = 0; i < R; i++) {
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6 / N);
  }
  ms.sort((a, b) => a - b);
  const med = ms[Math.floor(R / 2)];
  // Peak RSS of this process (KiB, as getrusage), and node's own before ONNX Runtime made the
  // session (the runtime, V8 and onnxruntime-node's code loaded): bench/nn reports the
  // difference as ORT's, next to vas's whole process.
  const peak = process.resourceUsage().maxRSS;
  console.log(`result engine=ort size=${W}x${H} batch=${N} threads=${T} ms_per_frame=${med.toFixed(2)} fps=${(1000 / med).toFixed(2)} maxrss_kb=${peak} base_rss_kb=${base}`);
}
main().catch((e) => { console.error('nn_ort:', e.message || e); process.exit(1); });
