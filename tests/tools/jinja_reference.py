#!/usr/bin/env python3
"""Renders chat templates with Python's jinja2 set up as Hugging Face transformers sets it up for
apply_chat_template (trim_blocks, lstrip_blocks, loop controls, a json.dumps tojson,
raise_exception, strftime_now), as the independent reference for rockllm's Jinja engine.

stdin: {"templates": [source, ...], "contexts": [variables, ...]}
stdout: {"results": [[{"output": text} or {"error": message}, ... per context], ... per template]}
"""
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Generation(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %} renders its body (transformers tracks it for masks)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def main():
    request = json.load(sys.stdin)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    results = []
    for source in request["templates"]:
        row = []
        try:
            template = env.from_string(source)
        except Exception as e:  # a template jinja2 cannot parse: every context fails
            results.append([{"error": "parse: " + str(e)}] * len(request["contexts"]))
            continue
        for context in request["contexts"]:
            try:
                row.append({"output": template.render(**context)})
            except Exception as e:
                row.append({"error": type(e).__name__ + ": " + str(e)})
        results.append(row)
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
