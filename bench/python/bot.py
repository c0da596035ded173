"""The Python bot's open path, reproduced for the side-by-side burst of
`cargo bench -p ticketbot --bench interactions -- --python-bot PYTHON`.

Written from its README and its schema (../shared/seed): discord.py, a persistent view with
the "Open Ticket" button, one sqlite3 connection (WAL, synchronous=NORMAL) and a commit per
call. A click inserts the row, creates `ticket-<short id>` (the creator and the support role
may see it, @everyone not; at the guild's top level: its code never used the category
variables), stores the channel id, posts the welcome embed in the channel, then answers
"Ticket created: #channel" (ephemeral). Nothing else is done per click, so the model is, if
anything, quicker than the bot it stands for.

Environment: FAKECORD_API (http://127.0.0.1:PORT), FAKECORD_GATEWAY (ws://…), BOT_TOKEN,
GUILD_ID, SUPPORT_ROLE_ID, DB_PATH.
"""

import logging
import os
import sys
import uuid
from datetime import datetime, timezone

import discord
import yarl
from discord import http as discord_http
from discord.gateway import DiscordWebSocket

# Point discord.py at the fake: its REST base and its gateway.
discord_http.Route.BASE = os.environ["FAKECORD_API"].rstrip("/") + "/api/v10"
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKECORD_GATEWAY"])

OPEN_BUTTON = "ticketbot:open"
GUILD_ID = int(os.environ["GUILD_ID"])
SUPPORT_ROLE_ID = int(os.environ["SUPPORT_ROLE_ID"])

# The same connection, pragmas and table as the store layer's benchmark.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cycle import connect  # noqa: E402

db, _ = connect("sqlite", os.environ["DB_PATH"])


class Panel(discord.ui.View):
    def __init__(self):
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Open Ticket", style=discord.ButtonStyle.primary, custom_id=OPEN_BUTTON
    )
    async def open_ticket(self, interaction: discord.Interaction, _button):
        guild = interaction.guild
        user = interaction.user
        ticket_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at)"
            " VALUES (?, ?, NULL, ?, 'open', ?)",
            (ticket_id, guild.id, user.id, datetime.now(timezone.utc)),
        )
        db.commit()
        overwrites = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            guild.me: discord.PermissionOverwrite(
                view_channel=True, send_messages=True, read_message_history=True
            ),
            user: discord.PermissionOverwrite(
                view_channel=True, send_messages=True, read_message_history=True
            ),
            guild.get_role(SUPPORT_ROLE_ID): discord.PermissionOverwrite(
                view_channel=True, send_messages=True, read_message_history=True
            ),
        }
        channel = await guild.create_text_channel(
            f"ticket-{ticket_id.split('-')[0]}",
            overwrites=overwrites,
            topic=f"Ticket {ticket_id} for {user.mention}",
        )
        db.execute(
            "UPDATE tickets SET channel_id = ? WHERE id = ?", (channel.id, ticket_id)
        )
        db.commit()
        embed = discord.Embed(
            title="Ticket opened",
            description="Support will be with you shortly.",
            colour=discord.Colour.blurple(),
        )
        embed.add_field(name="Creator", value=user.mention)
        await channel.send(content=user.mention, embed=embed)
        await interaction.response.send_message(
            f"Ticket created: {channel.mention}", ephemeral=True
        )


class Bot(discord.Client):
    async def setup_hook(self):
        self.add_view(Panel())


logging.basicConfig(level=logging.WARNING)
Bot(intents=discord.Intents.default()).run(os.environ["BOT_TOKEN"], log_handler=None)
