// A watch response is newline-delimited JSON, and the chunks it arrives in cut
// wherever the network cut them: mid-line, mid-object, between the bytes of one
// UTF-8 character (the caller decodes with setEncoding('utf8'), which holds back a
// split character). This keeps the unfinished tail until its newline comes.

export class LineSplitter {
  private tail = '';

  /** The complete lines `chunk` finishes, without their newlines; blank lines dropped. */
  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const parts = text.split('\n');
    this.tail = parts.pop()!;
    return parts.filter((l) => l.trim() !== '');
  }

  /** What is left at the end of the stream: a last line without its newline, if any. */
  end(): string | undefined {
    const rest = this.tail;
    this.tail = '';
    return rest.trim() === '' ? undefined : rest;
  }
}
