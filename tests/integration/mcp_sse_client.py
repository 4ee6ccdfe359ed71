"""Call tools of an MCP server over SSE with the MCP Python SDK client; run by the end-to-end
tests with the interpreter of the upstream server's own environment (which holds ``mcp``).

``python mcp_sse_client.py URL`` reads a JSON list of ``[tool, arguments]`` on stdin, calls
them in order in one session and prints a JSON list of ``{"is_error": bool, "text": str}``.
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client


async def call_tools(url, calls):
    answers = []
    async with sse_client(url) as streams:
        async with ClientSession(*streams) as session:
            await session.initialize()
            for tool, arguments in calls:
                result = await session.call_tool(tool, arguments)
                text = '\n'.join(getattr(part, 'text', '') or '' for part in result.content)
                answers.append({'is_error': bool(result.isError), 'text': text})
    return answers


def main():
    calls = json.load(sys.stdin)
    print(json.dumps(asyncio.run(call_tools(sys.argv[1], calls))))


if __name__ == '__main__':
    main()
