"""The Bot API methods the stand-in answers: one ``_m_*`` handler per method (or family).

Each handler gets the parsed request and returns the "result" of the answer, or raises
``_ApiError`` for an error answer; :meth:`BotApiMethods._method_table` maps the Bot API method
names onto them.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from standin.formatting import JSON, utf16_length
from standin.records import _ApiError, _Request
from standin.server import MAX_DOWNLOAD_BYTES, MAX_MESSAGE_LENGTH, StandInServer

_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class BotApiMethods(StandInServer):
    """The server with its Bot API method handlers."""

    def _method_table(self) -> dict[str, Callable[[_Request], Any]]:
        return {
            "getMe": self._m_get_me,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "sendMessage": self._m_send_message,
            "sendDocument": self._m_send_document,
            "sendPhoto": self._m_send_photo,
            "editMessageText": self._m_edit_message_text,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "editMessageCaption": self._m_edit_message_caption,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "getFile": self._m_get_file,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getChatAdministrators": self._m_get_chat_administrators,
            "getChatMemberCount": self._m_get_chat_member_count,
            "sendChatAction": self._m_send_chat_action,
            "pinChatMessage": self._m_pin_chat_message,
            "unpinChatMessage": self._m_true_for_chat,
            "unpinAllChatMessages": self._m_true_for_chat,
            "leaveChat": self._m_leave_chat,
            "setMyDescription": self._m_set_bot_text,
            "setMyShortDescription": self._m_set_bot_text,
            "setMyName": self._m_set_bot_text,
            "getMyDescription": self._m_get_bot_text,
            "getMyShortDescription": self._m_get_bot_text,
            "getMyName": self._m_get_bot_text,
            "close": self._m_true,
            "logOut": self._m_true,
        }

    async def _m_true(self, req: _Request) -> bool:
        return True

    async def _m_get_me(self, req: _Request) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, req: _Request) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        params = req.params
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = max(0.0, float(timeout)) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed] or None
        if isinstance(offset, int) and offset != 0:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._bump()
        deadline = time.monotonic() + timeout
        batch: list[JSON] = []
        while True:
            event = self._signal
            transport = req.http.transport
            if transport is None or transport.is_closing():
                return []  # the client gave up on this poll: deliver nothing
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            batch = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if batch or self._closing or remaining <= 0:
                break
            await self._wait_event(event, remaining)
        if batch:
            self._max_delivered = max(self._max_delivered, batch[-1]["update_id"])
            self._last_activity = time.monotonic()
        return copy.deepcopy(batch)

    async def _m_set_webhook(self, req: _Request) -> bool:
        self.webhook_url = str(req.params.get("url") or "")
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_delete_webhook(self, req: _Request) -> bool:
        self.webhook_url = ""
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
            self._max_delivered = self._next_update_id - 1
        return True

    async def _m_get_webhook_info(self, req: _Request) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _m_set_my_commands(self, req: _Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME_RE.match(
                str(command.get("command", ""))
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(req.params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _m_get_my_commands(self, req: _Request) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(req.params), []))

    async def _m_delete_my_commands(self, req: _Request) -> bool:
        self.commands.pop(self._commands_key(req.params), None)
        return True

    async def _m_set_chat_menu_button(self, req: _Request) -> bool:
        chat_id = req.params.get("chat_id")
        button = req.params.get("menu_button") or {"type": "default"}
        self.menu_buttons[chat_id if isinstance(chat_id, int) else None] = button
        return True

    async def _m_get_chat_menu_button(self, req: _Request) -> JSON:
        chat_id = req.params.get("chat_id")
        key = chat_id if isinstance(chat_id, int) else None
        return copy.deepcopy(
            self.menu_buttons.get(key) or self.menu_buttons.get(None) or {"type": "commands"}
        )

    async def _m_send_message(self, req: _Request) -> JSON:
        params = req.params
        chat = self._target_chat(params)
        chat_id = int(chat["id"])
        self._check_can_write(chat_id)
        self._flood_check(chat_id)
        text = params.get("text")
        if text is None or text == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        plain, entities = self._format(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_length(plain) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = self._parse_reply_markup(params)
        reply = self._reply_target(params, chat_id)
        fields: JSON = {"text": plain}
        if entities:
            fields["entities"] = entities
        msg = self._new_bot_message(
            chat, fields, markup, reply, thread=params.get("message_thread_id")
        )
        self._raw_texts[(chat_id, msg["message_id"])] = (text, params.get("parse_mode"))
        self._flood_record(chat_id)
        self._record_sent(
            req.method, msg, raw_text=text, parse_mode=params.get("parse_mode"), reply_markup=markup
        )
        return copy.deepcopy(msg)

    async def _send_file(self, req: _Request, field_name: str, kind: str) -> JSON:
        params = req.params
        chat = self._target_chat(params)
        chat_id = int(chat["id"])
        self._check_can_write(chat_id)
        self._flood_check(chat_id)
        raw_caption, fields = self._caption(params)
        stored = self._resolve_input_file(req, field_name, kind)
        if kind == "photos":
            fields["photo"] = [self._photo_size(stored)]
        else:
            fields["document"] = self._document_dict(stored)
        markup = self._parse_reply_markup(params)
        reply = self._reply_target(params, chat_id)
        msg = self._new_bot_message(
            chat, fields, markup, reply, thread=params.get("message_thread_id")
        )
        self._raw_texts[(chat_id, msg["message_id"])] = (raw_caption, params.get("parse_mode"))
        self._flood_record(chat_id)
        self._record_sent(
            req.method,
            msg,
            raw_text=raw_caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            stored=stored,
        )
        return copy.deepcopy(msg)

    async def _m_send_document(self, req: _Request) -> JSON:
        return await self._send_file(req, "document", "documents")

    async def _m_send_photo(self, req: _Request) -> JSON:
        return await self._send_file(req, "photo", "photos")

    def _apply_edit(
        self,
        req: _Request,
        msg: JSON,
        new_fields: JSON,
        markup: JSON | None,
        raw_text: str | None,
        parse_mode: Any,
    ) -> JSON:
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        old_content = {key: msg.get(key) or None for key in new_fields}
        new_content = {key: value or None for key, value in new_fields.items()}
        if old_content == new_content and (msg.get("reply_markup") or None) == inline:
            raise _ApiError(400, _NOT_MODIFIED)
        for key, value in new_content.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        if inline is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = copy.deepcopy(inline)
        msg["edit_date"] = int(self._now())
        where = (int(msg["chat"]["id"]), int(msg["message_id"]))
        if raw_text is not None:
            self._raw_texts[where] = (raw_text, parse_mode)
        else:
            raw_text, parse_mode = self._raw_texts.get(where, (None, None))
        self._record_sent(
            req.method, msg, raw_text=raw_text, parse_mode=parse_mode, reply_markup=inline
        )
        return copy.deepcopy(msg)

    async def _m_edit_message_text(self, req: _Request) -> JSON:
        params = req.params
        msg = self._bot_message_for_edit(params)
        if "text" not in msg:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = params.get("text")
        if text is None or text == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        plain, entities = self._format(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_length(plain) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = self._parse_reply_markup(params)
        return self._apply_edit(
            req,
            msg,
            {"text": plain, "entities": entities},
            markup,
            text,
            params.get("parse_mode"),
        )

    async def _m_edit_message_caption(self, req: _Request) -> JSON:
        params = req.params
        msg = self._bot_message_for_edit(params)
        if "text" in msg:
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        raw_caption, fields = self._caption(params)
        markup = self._parse_reply_markup(params)
        new_fields: JSON = {
            "caption": fields.get("caption"),
            "caption_entities": fields.get("caption_entities"),
        }
        return self._apply_edit(
            req, msg, new_fields, markup, raw_caption or "", params.get("parse_mode")
        )

    async def _m_edit_message_reply_markup(self, req: _Request) -> JSON:
        msg = self._bot_message_for_edit(req.params)
        markup = self._parse_reply_markup(req.params)
        return self._apply_edit(req, msg, {}, markup, None, None)

    async def _m_delete_message(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        chat_id = int(chat["id"])
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int) or (chat_id, message_id) not in self._messages:
            raise _ApiError(400, "Bad Request: message to delete not found")
        del self._messages[(chat_id, message_id)]
        self.deleted.append((chat_id, message_id))
        self._log("delete", chat_id, self.bot_id, message_id, "")
        return True

    async def _m_answer_callback_query(self, req: _Request) -> bool:
        query_id = str(req.params.get("callback_query_id") or "")
        query = self._pending_callbacks.pop(query_id, None)
        if query is None:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered_callbacks[query_id] = dict(req.params)
        text = str(req.params.get("text") or "")
        if req.params.get("show_alert") and text:
            text = f"(alert) {text}"
        message = query.get("message") or {}
        chat_id = int(message.get("chat", {}).get("id", query["from"]["id"]))
        self._log("callback_answer", chat_id, self.bot_id, message.get("message_id"), text)
        return True

    async def _m_get_file(self, req: _Request) -> JSON:
        file_id = str(req.params.get("file_id") or "")
        stored = self._files.get(file_id)
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _m_get_chat(self, req: _Request) -> JSON:
        chat = self._target_chat(req.params)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_object(self, chat_id: int, user_id: int) -> JSON:
        if user_id == self.bot_id:
            user: JSON = self.bot_user
            status = self._members.get(chat_id, {}).get(user_id, "member")
        else:
            known = self._users.get(user_id)
            if known is None:
                raise _ApiError(400, "Bad Request: user not found")
            user = copy.deepcopy(known)
            if chat_id == user_id:
                status = "member"
            else:
                status = self._members.get(chat_id, {}).get(user_id, "left")
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": False,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _m_get_chat_member(self, req: _Request) -> JSON:
        chat = self._target_chat(req.params)
        user_id = req.params.get("user_id")
        if not isinstance(user_id, int):
            raise _ApiError(400, "Bad Request: user not found")
        return self._member_object(int(chat["id"]), user_id)

    async def _m_get_chat_administrators(self, req: _Request) -> list[JSON]:
        chat = self._target_chat(req.params)
        chat_id = int(chat["id"])
        return [
            self._member_object(chat_id, user_id)
            for user_id, status in self._members.get(chat_id, {}).items()
            if status in ("creator", "administrator")
        ]

    async def _m_get_chat_member_count(self, req: _Request) -> int:
        chat = self._target_chat(req.params)
        if chat["type"] == "private":
            return 2
        return len(self._members.get(int(chat["id"]), {})) + 1

    async def _m_send_chat_action(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        self._check_can_write(int(chat["id"]))
        return True

    async def _m_pin_chat_message(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int) or (int(chat["id"]), message_id) not in self._messages:
            raise _ApiError(400, "Bad Request: message to pin not found")
        return True

    async def _m_true_for_chat(self, req: _Request) -> bool:
        self._target_chat(req.params)
        return True

    async def _m_leave_chat(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        self._blocked[int(chat["id"])] = "Forbidden: bot is not a member of the group chat"
        return True

    async def _m_set_bot_text(self, req: _Request) -> bool:
        key = req.method[len("setMy") :].lower()
        field_name = {"description": "description", "shortdescription": "short_description"}.get(
            key, "name"
        )
        language = str(req.params.get("language_code") or "")
        self._bot_texts[f"{field_name}:{language}"] = str(req.params.get(field_name) or "")
        return True

    async def _m_get_bot_text(self, req: _Request) -> JSON:
        key = req.method[len("getMy") :].lower()
        field_name = {"description": "description", "shortdescription": "short_description"}.get(
            key, "name"
        )
        language = str(req.params.get("language_code") or "")
        value = self._bot_texts.get(f"{field_name}:{language}")
        if value is None and field_name == "name":
            value = self.bot_first_name
        return {field_name: value or ""}
