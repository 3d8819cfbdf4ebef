// A plan file's text scanned as it is read, its `services` array handed on one element
// at a time (plan-read.ts): at 44k Services the file is ~34 MB of text, and JSON.parse on
// it kept that text and the parse tree of every Service alive at once (the offline
// agent's VmHWM before its first sync, ~166 MiB at 44k x 1). Here only the text of one
// element (and of the document around the array) is held at a time.
//
// The scan follows JSON's nesting (strings and their escapes, objects, arrays) and
// nothing else; whether the text is valid JSON is left to JSON.parse, on the head (the
// document up to the array, with the array empty) and on each element. The caller
// reads the file whole instead when `streamed()` is false: the document was not an
// object whose last member is an array named `services`.

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../model/json-bytes.js';

type Phase = 'head' | 'services' | 'tail';

export class PlanServicesScan {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private phase: Phase = 'head';
  /** The document's text before the array (head), the element under way, what follows the array (tail). */
  private head = '';
  private element = '';
  private tail = '';
  private elements = 0;
  /** The last string at depth 1 (the member's name, when an array follows it). */
  private lastName = '';
  /** A depth-1 string under way: its text from earlier chunks, and where it starts in this one. */
  private inName = false;
  private namePart = '';
  private nameFrom = 0;

  /**
   * `onHead`: the document before the array, closed as if the array were empty (JSON text);
   * `onElement`: each element's text, in order.
   */
  constructor(
    private readonly onHead: (text: string) => void,
    private readonly onElement: (text: string) => void,
  ) {}

  push(chunk: string): void {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.inName) {
            this.lastName = this.namePart + chunk.slice(this.nameFrom, i);
            this.namePart = '';
            this.inName = false;
          }
        }
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.phase === 'head') {
          this.inName = true;
          this.nameFrom = i + 1;
        }
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
        if (c === OPEN_BRACKET && this.depth === 2 && this.phase === 'head' && this.lastName === 'services') {
          this.head += chunk.slice(from, i);
          this.onHead(`${this.head}[]}`);
          this.phase = 'services';
          from = i + 1;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.depth === 2 && this.phase === 'services') {
          const text = this.element + chunk.slice(from, i);
          // `[]` has no element (`[1,]` has an empty one, which JSON.parse refuses).
          if (this.elements > 0 || text.trim() !== '') this.endElement(text);
          this.phase = 'tail';
          from = i + 1;
        }
        this.depth--;
      } else if (c === COMMA && this.depth === 2 && this.phase === 'services') {
        this.endElement(this.element + chunk.slice(from, i));
        from = i + 1;
      }
    }
    const rest = chunk.slice(from);
    if (this.phase === 'head') this.head += rest;
    else if (this.phase === 'services') this.element += rest;
    else this.tail += rest;
    if (this.inName) {
      this.namePart += chunk.slice(this.nameFrom);
      this.nameFrom = 0;
    }
  }

  /** Whether the array was handed on whole and closed the document (else: read the file whole). */
  streamed(): boolean {
    return this.phase === 'tail' && this.tail.trim() === '}' && !this.inString;
  }

  private endElement(text: string): void {
    this.element = '';
    this.elements++;
    this.onElement(text);
  }
}
