// sha1.js - SHA-1 of a File in the browser (sha1OfFile), so that an upload can first ask the
// server whether it has the file already. No state, no imports.

// ---------------------------------------------------------------------------------------------
// SHA-1 (FIPS 180-4), incremental: crypto.subtle exists only on https or localhost, and a lab
// server is often plain http on the network. About 200-400 MB/s.
// ---------------------------------------------------------------------------------------------

class Sha1 {
  constructor() {
    this.h = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
    this.w = new Int32Array(80);
    this.tail = new Uint8Array(64);
    this.tailLen = 0;
    this.length = 0;
  }

  update(data) {
    let i = 0;
    this.length += data.length;
    if (this.tailLen > 0) {
      i = Math.min(64 - this.tailLen, data.length);
      this.tail.set(data.subarray(0, i), this.tailLen);
      this.tailLen += i;
      if (this.tailLen < 64) return;
      this.block(this.tail, 0);
      this.tailLen = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.block(data, i);
    this.tail.set(data.subarray(i), 0);
    this.tailLen = data.length - i;
  }

  hex() {
    const bits = this.length * 8;
    const pad = new Uint8Array((this.tailLen < 56 ? 64 : 128) - this.tailLen);
    const n = pad.length;
    pad[0] = 0x80;
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    for (let k = 0; k < 4; k++) {
      pad[n - 8 + k] = (hi >>> (24 - 8 * k)) & 0xff;
      pad[n - 4 + k] = (lo >>> (24 - 8 * k)) & 0xff;
    }
    this.update(pad);
    return Array.from(this.h, (x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  }

  block(b, o) {
    const w = this.w;
    const h = this.h;
    for (let t = 0; t < 16; t++, o += 4) w[t] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = (x << 1) | (x >>> 31);
    }
    let a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (let t = 0; t < 80; t++) {
      let f, k;
      if (t < 20) { f = (bb & c) | (~bb & d); k = 0x5a827999; }
      else if (t < 40) { f = bb ^ c ^ d; k = 0x6ed9eba1; }
      else if (t < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8f1bbcdc; }
      else { f = bb ^ c ^ d; k = 0xca62c1d6; }
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e;
  }
}

// The SHA-1 of a File, read 4 MiB at a time; stops (rejects) when signal aborts.
async function sha1OfFile(file, signal) {
  const sha = new Sha1();
  const slice = 4 << 20;
  for (let off = 0; off < file.size; off += slice) {
    if (signal.aborted) throw new DOMException('stopped', 'AbortError');
    sha.update(new Uint8Array(await file.slice(off, off + slice).arrayBuffer()));
  }
  return sha.hex();
}

export { sha1OfFile };
