import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { toUint8Array } from "@smithy/core/serde";
import type { Checksum, SourceData } from "@smithy/types";

/**
 * Put in place of `@smithy/core/checksum` in the deployed bundles (infra/bundling.ts): the SHA-256
 * (SigV4 signing) and MD5 (SQS's message checksums) the clients take from it, as the SDK's own
 * Sha256Node and Md5Node classes build them on a Node with native crypto, which Lambda's always
 * has. The SDK's module also carries pure-JavaScript fallbacks for runtimes without it, and the
 * stream and blob hashers of S3-style uploads: about 6 KiB of the stop bundle
 * (docs/performance.md). A client that imports anything else from it fails the build.
 */
function toBuffer(data: SourceData): string | Buffer {
  if (typeof data === "string") return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const bytesOf = (buffer: Buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

export class Sha256 implements Checksum {
  readonly digestLength = 32;
  private readonly isHmac: boolean;
  private hash: Hash | Hmac;
  private finished = false;

  constructor(private readonly secret?: SourceData) {
    this.isHmac = !!secret;
    this.hash = this.createHash();
  }

  update(data: Uint8Array): void {
    if (this.finished) throw new Error("Attempted to update an already finished hash.");
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    if (this.isHmac) {
      this.finished = true;
      return bytesOf(this.hash.digest());
    }
    return bytesOf((this.hash as Hash).copy().digest());
  }

  reset(): void {
    this.hash = this.createHash();
    this.finished = false;
  }

  private createHash(): Hash | Hmac {
    return this.secret ? createHmac("sha256", toBuffer(this.secret)) : createHash("sha256");
  }
}

export class Md5 implements Checksum {
  readonly digestLength = 16;
  private hash = createHash("md5");

  update(data: Uint8Array): void {
    this.hash.update(toUint8Array(data));
  }

  async digest(): Promise<Uint8Array> {
    return bytesOf(this.hash.copy().digest());
  }

  reset(): void {
    this.hash = createHash("md5");
  }
}
