"""`concierge ask` and `concierge chat`: turns through the full engine from the terminal."""

from __future__ import annotations

import argparse

from core.cli.common import print_result


def cmd_ask(args: argparse.Namespace) -> None:
    from core.runtime import Runtime

    runtime = Runtime.start(rate_limit=False)  # the terminal's own user: no one to throttle
    reply = runtime.chat.send(runtime.local_user(), None, args.text)
    runtime.close()
    result = {
        "answer": reply.text,
        "intent": reply.intent,
        "confidence": round(reply.confidence, 4) if reply.confidence is not None else None,
        "route": reply.route,
        "sources": reply.sources,
        "latency_ms": round(reply.latency_ms, 2),
        "conversation_id": reply.conversation_id,
        "status": reply.status,
        "answered_by": reply.answered_by,
        "rss_mb": _rss_mb(),
    }
    if args.json:
        print_result(result, True)
    else:
        print(reply.text)


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def cmd_chat(args: argparse.Namespace) -> None:
    from core.runtime import Runtime

    runtime = Runtime.start()
    user = runtime.local_user()
    conversation = runtime.chat.start_conversation(user, "Terminal chat")
    print("Concierge terminal chat. Type your question; Ctrl-D or /quit to leave.")
    try:
        _chat_loop(runtime, user, conversation)
    finally:
        runtime.close()


def _chat_loop(runtime, user, conversation: int) -> None:
    from core.conversations.validation import InvalidMessage
    from core.security.rate_limits import RateLimited

    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if text.strip() in {"/quit", "/exit"}:
            return
        try:
            reply = runtime.chat.send(user, conversation, text)
        except (InvalidMessage, RateLimited) as exc:
            print(f"! {exc}")
            continue
        print(f"bot> {reply.text}\n")


def register(sub: argparse._SubParsersAction) -> None:
    ask = sub.add_parser("ask", help="one turn through the full engine")
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="an interactive terminal chat")
    chat.set_defaults(func=cmd_chat)
