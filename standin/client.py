"""The human side of the stand-in: simulated users and chats, and reading what happened.

:class:`BotApiStandIn` is the class tests, the demo and the benchmarks use: the HTTP server with
its Bot API methods (:mod:`standin.server`, :mod:`standin.methods`) plus the methods here that
act as the users (register users and groups, send texts and files, edit, press buttons) and
read the outcome (sent messages, calls, the transcript, waiting until the bot is done).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from typing import Any

from standin.formatting import JSON, utf16_length
from standin.methods import BotApiMethods
from standin.records import ApiCall, SentMessage, Transcript, _keyboard_buttons, buttons
from standin.server import _COMMAND_RE


def _short(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "None"
    flat = text.replace("\n", "⏎")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class BotApiStandIn(BotApiMethods):
    """A local Bot API server plus the "human side" of the conversation.

    Use as ``async with BotApiStandIn() as tg:`` (or ``await tg.start()`` / ``await
    tg.stop()``). Everything runs on the current event loop; all methods that are not
    coroutines are synchronous and safe to call from the test body or from bot handlers.

    Args:
        token: the bot token PTB must use; requests with another token get 401.
        bot_username / bot_first_name: returned by getMe.
        bot_id: the bot's user id; defaults to the numeric part of the token.
        enforce_flood_limits: answer 429 when ``send*`` calls exceed ``flood_limits``.
        flood_limits: the limits (defaults: :class:`FloodLimits`).
        strict_html_ampersand: reject a bare "&" in HTML (see :func:`parse_formatted_text`).
        privacy_mode: like a bot with privacy mode on, only deliver group messages that are
            commands, replies to the bot, mentions of the bot or service messages.
        clock: source of "now" for message dates and transcript times: a callable returning
            unix seconds or an aware datetime (e.g. the fake clock the bot runs on); default
            ``time.time``. Flood limits, timeouts and ApiCall.time always use real time.
    """

    # ----------------------------------------------------------------------------------------
    # The human side: users, chats, updates
    # ----------------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
        started: bool = True,
    ) -> JSON:
        """Register a user and their private chat (chat id == user id) and return the User.

        Args:
            started: if False the user never opened the bot: sends to the private chat answer
                403 "bot can't initiate conversation" until the user sends something.

        Raises:
            ValueError: ``user_id`` is not positive.
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self._chats[user_id] = chat
        if started:
            self._started.add(user_id)
        else:
            self._started.discard(user_id)
        return copy.deepcopy(user)

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool | None = None,
        username: str | None = None,
        members: Iterable[int] = (),
        forum: bool = False,
    ) -> JSON:
        """Register a group the bot is in and return its Chat object.

        Args:
            chat_id: negative id; ``-100...`` (13+ digits) means a supergroup unless
                ``supergroup`` says otherwise.
            forum: a supergroup with topics (``is_forum``); users write in a topic with
                ``send_text(..., message_thread_id=...)``.
            members: user ids already in the group (no join messages are sent).

        Raises:
            ValueError: ``chat_id`` is not negative.
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100") and len(str(chat_id)) >= 14
        chat: JSON = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        if username:
            chat["username"] = username
        if forum:
            if not supergroup:
                raise ValueError("only a supergroup can be a forum")
            chat["is_forum"] = True
        self._chats[chat_id] = chat
        roster = self._members.setdefault(chat_id, {})
        for member in members:
            roster.setdefault(member, "member")
        return copy.deepcopy(chat)

    def add_member(
        self, chat_id: int, user_id: int, *, status: str = "member", announce: bool = True
    ) -> JSON | None:
        """Put a registered user into a registered group.

        Args:
            status: ``"member"``, ``"administrator"`` or ``"creator"`` (getChatMember).
            announce: queue the ``new_chat_members`` service message Telegram sends.

        Returns:
            The service Message dict, or None if ``announce`` is False.

        Raises:
            ValueError: unknown user or group.
        """
        user = self._require_user(user_id)
        chat = self._require_chat(chat_id)
        if chat["type"] == "private":
            raise ValueError("add_member needs a group")
        self._members.setdefault(chat_id, {})[user_id] = status
        if not announce:
            return None
        return self._user_message(
            user_id, chat_id, {"new_chat_members": [user]}, kind="join", text="joined the group"
        )

    def migrate_group(
        self, old_chat_id: int, new_chat_id: int, *, by_user_id: int | None = None
    ) -> JSON:
        """Upgrade a group to a supergroup, as Telegram does.

        Queues the two service messages (``migrate_to_chat_id`` in the old chat,
        ``migrate_from_chat_id`` in the new one). Afterwards, calls to the old id answer 400
        "group chat was upgraded to a supergroup chat" with ``parameters.migrate_to_chat_id``.

        Returns:
            The new supergroup Chat object.

        Raises:
            ValueError: unknown old group or a non-negative new id.
        """
        old = self._require_chat(old_chat_id)
        if old["type"] == "private" or new_chat_id >= 0:
            raise ValueError("migration goes from a group to a negative supergroup id")
        members = dict(self._members.get(old_chat_id, {}))
        new_chat = self.group(new_chat_id, old.get("title", ""), supergroup=True)
        self._members[new_chat_id] = members
        actor = by_user_id if by_user_id is not None else next(iter(members), None)
        sender = self._users.get(actor) if actor is not None else None
        old_mid = self._new_message_id(old_chat_id)
        old_msg: JSON = {
            "message_id": old_mid,
            "chat": copy.deepcopy(old),
            "date": int(self._now()),
            "migrate_to_chat_id": new_chat_id,
        }
        new_mid = self._new_message_id(new_chat_id)
        new_msg: JSON = {
            "message_id": new_mid,
            "chat": copy.deepcopy(new_chat),
            "date": int(self._now()),
            "migrate_from_chat_id": old_chat_id,
        }
        if sender is not None:
            old_msg["from"] = copy.deepcopy(sender)
            new_msg["from"] = copy.deepcopy(sender)
        self._migrated[old_chat_id] = new_chat_id
        self._chats.pop(old_chat_id, None)
        self._messages[(old_chat_id, old_mid)] = old_msg
        self._messages[(new_chat_id, new_mid)] = new_msg
        self._enqueue({"message": old_msg})
        self._enqueue({"message": new_msg})
        self._log(
            "migration",
            old_chat_id,
            sender["id"] if sender else 0,
            old_mid,
            f"group upgraded to supergroup {new_chat_id}",
            chat=old,
        )
        return new_chat

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        """The user sends ``text`` (private chat by default); returns the Message dict.

        ``message_thread_id`` writes in that topic of a forum supergroup (the message then
        carries ``is_topic_message``), as a Telegram client does.

        A leading ``/command`` (optionally ``/command@botname``, Telegram's rule:
        ``[A-Za-z0-9_]``) gets a ``bot_command`` entity at offset 0, so PTB's CommandHandler
        sees it. ``reply_to_message_id`` embeds the full replied-to message (bot's or user's).

        Raises:
            ValueError: unknown user/chat/replied-to message.
        """
        fields: JSON = {"text": text}
        match = _COMMAND_RE.match(text)
        if match:
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}
            ]
        if message_thread_id is not None:
            fields["message_thread_id"] = message_thread_id
            fields["is_topic_message"] = True
        return self._user_message(
            user_id, chat_id, fields, reply_to_message_id=reply_to_message_id, text=text
        )

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user sends a photo; the bot can getFile + download ``content``.

        Returns the Message dict (``photo`` holds one PhotoSize).

        Raises:
            ValueError: unknown user/chat.
        """
        stored = self._store_file(content, "photos", None, None)
        fields: JSON = {"photo": [self._photo_size(stored)]}
        if caption:
            fields["caption"] = caption
        return self._user_message(
            user_id,
            chat_id,
            fields,
            reply_to_message_id=reply_to_message_id,
            text=caption or "",
            attachment=f"photo, {len(content)} bytes",
        )

    def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user sends a file; the bot can getFile + download ``content``.

        Returns the Message dict with ``document`` {file_id, file_unique_id, file_name,
        mime_type, file_size}.

        Raises:
            ValueError: unknown user/chat.
        """
        stored = self._store_file(content, "documents", file_name, mime_type)
        fields: JSON = {"document": self._document_dict(stored)}
        if caption:
            fields["caption"] = caption
        return self._user_message(
            user_id,
            chat_id,
            fields,
            reply_to_message_id=reply_to_message_id,
            text=caption or "",
            attachment=f"document {file_name}, {len(content)} bytes",
        )

    def send_voice(
        self,
        user_id: int,
        content: bytes,
        *,
        duration: int = 1,
        chat_id: int | None = None,
    ) -> JSON:
        """The user sends a voice message; the bot can getFile + download ``content``.

        Raises:
            ValueError: unknown user/chat.
        """
        stored = self._store_file(content, "voices", None, "audio/ogg")
        fields: JSON = {
            "voice": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(content),
            }
        }
        return self._user_message(
            user_id, chat_id, fields, text="", attachment=f"voice, {len(content)} bytes"
        )

    def send_message(self, user_id: int, chat_id: int | None = None, **message_fields: Any) -> JSON:
        """Escape hatch: the user sends a Message with arbitrary extra fields.

        ``message_id``, ``from``, ``chat`` and ``date`` are filled in; pass e.g.
        ``sticker={...}``, ``location={...}``, ``contact={...}``, ``forward_origin={...}``.

        Raises:
            ValueError: unknown user/chat.
        """
        text = str(message_fields.get("text") or message_fields.get("caption") or "")
        extra = ", ".join(k for k in message_fields if k not in ("text", "caption"))
        return self._user_message(
            user_id, chat_id, dict(message_fields), text=text, attachment=extra or None
        )

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, chat_id: int | None = None
    ) -> JSON:
        """The user edits one of their text messages; queues an ``edited_message`` update.

        Returns the edited Message dict.

        Raises:
            ValueError: unknown message or not this user's message.
        """
        chat_id = user_id if chat_id is None else chat_id
        msg = self._messages.get((chat_id, message_id))
        if msg is None or msg.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        msg["text"] = new_text
        msg["edit_date"] = int(self._now())
        msg.pop("entities", None)
        match = _COMMAND_RE.match(new_text)
        if match:
            msg["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}
            ]
        self._enqueue({"edited_message": msg})
        self._log("edit", chat_id, user_id, message_id, new_text)
        return copy.deepcopy(msg)

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """The user presses an inline button; queues a ``callback_query`` update.

        The data is not checked against the message's keyboard (tests may forge it).

        Returns:
            The callback query id (look it up later in :attr:`answered_callbacks`).

        Raises:
            ValueError: unknown user or message.
        """
        user = self._require_user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        self._callback_counter += 1
        query_id = f"{self.bot_id}{self._callback_counter:08d}"
        query: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "message": copy.deepcopy(msg),
            "chat_instance": f"{abs(chat_id) * 31 + 7}",
            "data": callback_data,
        }
        self._pending_callbacks[query_id] = query
        self._enqueue({"callback_query": query})
        label = next(
            (t for t, d in _keyboard_buttons(msg.get("reply_markup")) if d == callback_data),
            f"data={callback_data!r}",
        )
        self._log("button", chat_id, user_id, message_id, label)
        return query_id

    def click(self, user_id: int, message: SentMessage, label: str) -> str:
        """Press the button labelled ``label`` on a message the bot sent.

        Raises:
            KeyError: no callback button with that label.
        """
        return self.press_button(
            user_id, message.message_id, message.data_for(label), chat_id=message.chat_id
        )

    def buttons(self, message: SentMessage | Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """Same as the module function :func:`buttons`."""
        return buttons(message)

    def queue_update(self, update: Mapping[str, Any]) -> int:
        """Queue a raw Update (without ``update_id``); returns the assigned update_id."""
        return self._enqueue(copy.deepcopy(dict(update)))

    # ----------------------------------------------------------------------------------------
    # Reading what happened
    # ----------------------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Sent/edited messages in ``chat_id``, in order."""
        return [s for s in self.sent if s.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current state of a message (after edits), or None if unknown/deleted."""
        msg = self._messages.get((chat_id, message_id))
        return copy.deepcopy(msg) if msg is not None else None

    def file_content(self, file_id: str) -> bytes:
        """The bytes stored for ``file_id``. Raises KeyError if unknown."""
        return self._files[file_id].data

    @property
    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    def failed_calls(self, method: str | None = None) -> list[ApiCall]:
        """Answered calls with a status >= 400 (optionally of one method)."""
        return [
            c
            for c in self.calls
            if c.status >= 400 and (method is None or c.method.lower() == method.lower())
        ]

    def transcript(self) -> Transcript:
        """The conversation so far (both sides), chronologically; see :class:`Transcript`."""
        return Transcript(copy.deepcopy(self._transcript))

    def transcript_text(
        self, names: Mapping[int, str] | None = None, tz: tzinfo | None = None
    ) -> str:
        """Shortcut for ``transcript().render(names, tz)``: the chat as it happened, as text."""
        return self.transcript().render(names, tz)

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool],
        *,
        timeout: float = 5.0,
        since: int = 0,
    ) -> SentMessage:
        """Return the first entry of :attr:`sent` (from index ``since``) matching ``predicate``.

        Waits up to ``timeout`` seconds for it to appear.

        Raises:
            AssertionError: on timeout, with a dump of what was sent and of failed calls.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self._signal
            for item in self.sent[since:]:
                if predicate(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self.dump(f"no sent message matched within {timeout:g}s"))
            await self._wait_event(event, remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> ApiCall:
        """Return the first *answered* call of ``method`` (case-insensitive) matching.

        Raises:
            AssertionError: on timeout, with a dump.
        """
        wanted = method.lower()
        deadline = time.monotonic() + timeout
        while True:
            event = self._signal
            for call in self.calls[since:]:
                if (
                    call.status
                    and call.method.lower() == wanted
                    and (predicate is None or predicate(call))
                ):
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self.dump(f"no {method} call matched within {timeout:g}s"))
            await self._wait_event(event, remaining)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every queued update was fetched and the bot was quiet for ``quiet`` s.

        "Quiet" means no request other than getUpdates arrived or was in progress (long polls
        do not count).

        Raises:
            AssertionError: not idle within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            unfetched = [u for u in self._updates if u["update_id"] > self._max_delivered]
            if not unfetched and self._inflight == 0 and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    self.dump(
                        f"not idle after {timeout:g}s: {len(unfetched)} update(s) not fetched, "
                        f"{self._inflight} request(s) in progress"
                    )
                )
            await asyncio.sleep(0.02)

    def dump(self, headline: str = "stand-in state") -> str:
        """A readable summary of sent messages, failed calls and server errors."""
        lines = [headline, f"sent messages ({len(self.sent)}):"]
        start = max(0, len(self.sent) - 30)
        for index, s in enumerate(self.sent[start:], start):
            extra = f" buttons={s.labels}" if s.buttons else ""
            if s.document:
                extra += f" document={s.document.get('file_name')}"
            if s.photo:
                extra += " photo"
            lines.append(
                f"  [{index}] {s.method} chat={s.chat_id} #{s.message_id}: "
                f"{_short(s.plain_text)!s}{extra}"
            )
        failed = [c for c in self.calls if c.status >= 400 and c.method != "getUpdates"]
        if failed:
            lines.append(f"failed calls ({len(failed)}, last 10):")
            for c in failed[-10:]:
                lines.append(
                    f"  {c.method} -> {c.status} {c.description!r} "
                    f"params={_short(json.dumps(c.params, ensure_ascii=False, default=str))}"
                )
        if self.server_errors:
            lines.append("stand-in internal errors:")
            lines.extend(f"  {err}" for err in self.server_errors[-5:])
        lines.append(f"unconfirmed updates: {len(self._updates)}")
        return "\n".join(lines)
