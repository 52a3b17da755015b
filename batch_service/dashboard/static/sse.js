// Server-Sent Events over fetch(). EventSource cannot send an Authorization header, so the
// dashboard reads the stream itself and parses frames by the HTML spec's event-stream rules.

export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.afterCr = false;
    this.lastEventId = "";
    this.reset();
  }

  reset() {
    this.type = "";
    this.data = [];
  }

  // Feed decoded text; complete events are dispatched, a partial line waits for more.
  push(text) {
    // A chunk may end between the \r and \n of one line break: the \r already ended the
    // line, so a \n opening the next chunk must not count as a second (empty) line.
    if (this.afterCr && text.startsWith("\n")) text = text.slice(1);
    this.buffer += text;
    this.afterCr = this.buffer.endsWith("\r");
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop();
    for (const line of lines) this.line(line);
  }

  line(text) {
    if (text === "") {
      this.dispatch();
      return;
    }
    if (text.startsWith(":")) return; // a comment, such as the service's keep-alive
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
  }

  dispatch() {
    if (this.data.length > 0) {
      this.onEvent({ type: this.type || "message", data: this.data.join("\n"), id: this.lastEventId });
    }
    this.reset();
  }
}

// Read a fetch() Response body to its end, calling onEvent for each event in it.
export async function readEvents(response, onEvent) {
  const parser = new SseParser(onEvent);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
