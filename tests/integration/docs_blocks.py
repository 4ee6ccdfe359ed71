"""The fenced blocks of README.md and docs/*.md, for the tests that run them as written
(test_docs_examples.py lists every block: run by a named test, or not runnable and why)."""
import glob
import os
import re
import shlex
import subprocess
import textwrap
from dataclasses import dataclass

from harness import ansible_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r'^( *)```([\w-]*)\n(.*?)^\1```', re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: str       # relative to the repository: README.md, docs/connecting.md
    line: int       # of the opening fence
    lang: str
    text: str       # dedented when the block is indented (inside a list item)

    def __str__(self):
        return '%s:%d (```%s) %r' % (self.page, self.line, self.lang, self.text.splitlines()[0] if self.text else '')


def pages():
    return ['README.md'] + sorted(os.path.relpath(path, ROOT) for path in glob.glob(os.path.join(ROOT, 'docs', '*.md')))


def blocks(page):
    with open(os.path.join(ROOT, page), encoding='utf-8') as handle:
        text = handle.read()
    return [Block(page, text[:match.start()].count('\n') + 1, match.group(2), textwrap.dedent(match.group(3)))
            for match in FENCE.finditer(text)]


def block(page, lang, starts):
    """The one block of ``page`` in ``lang`` whose text starts with ``starts``."""
    found = [b.text for b in blocks(page) if b.lang == lang and b.text.startswith(starts)]
    assert len(found) == 1, '%s: %d ```%s blocks start with %r' % (page, len(found), lang, starts)
    return found[0]


def commands(text):
    """The commands of a console block, one per line, as argv lists (comments dropped)."""
    return [shlex.split(line, comments=True) for line in text.splitlines() if shlex.split(line, comments=True)]


def run_command(argv, env, cwd, timeout=900):
    """One command of a console block as a user types it; the ansible-* commands are the test
    environment's (the ones a user's PATH would find), whatever path the docs give them."""
    name = os.path.basename(argv[0])
    if name.startswith('ansible'):
        argv = [ansible_command(name)] + argv[1:]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(cwd), timeout=timeout, check=False)
