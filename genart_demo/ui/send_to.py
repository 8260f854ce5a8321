"""Send-to links between the app's tabs: each task tab registers its form, the PNG info page's buttons fill them.

One `SendTargets` per built app (build_app makes it and passes it to the pages that take it), so building the app twice
gives two independent sets of links and no module global is touched. Pages register while they are built; `wire`
connects each button to its form once every page is, whatever the tab order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr


@dataclass(frozen=True)
class TargetForm:
    """A form settings can be sent to."""

    form: Mapping[str, Any]  # its components, keyed by request field (the tab builder's `form` dict)
    tab: str  # the page key of the tab holding it (selected when settings are sent)
    pending: Any = None  # follow_model's gr.State: values the model change that a send causes applies again


@dataclass(frozen=True)
class Sender:
    """A button that sends settings to one target form."""

    target: str  # the target's key
    button: gr.Button
    inputs: list[Any]  # passed to `values` first
    values: Callable[..., tuple[dict[str, Any], dict[Any, Any]]]  # (*inputs) -> ({field: value}, {component: update})
    outputs: list[Any] = field(default_factory=list)  # components of the sending page that `values` also updates


class SendTargets:
    """The app's target forms and the buttons that fill them."""

    def __init__(self) -> None:
        self.forms: dict[str, TargetForm] = {}
        self.senders: list[Sender] = []

    def add_form(self, key: str, form: Mapping[str, Any], *, tab: str, pending: Any = None) -> None:
        self.forms[key] = TargetForm(dict(form), tab, pending)

    def add_sender(self, sender: Sender) -> None:
        self.senders.append(sender)

    def wire(self, tabs: gr.Tabs | None) -> None:
        """Connect every button to its form (call inside the app's Blocks, after every page is built); a button whose
        form is not in this app (a page left out) is hidden."""
        for sender in self.senders:
            target = self.forms.get(sender.target)
            if target is None or tabs is None:
                sender.button.visible = False
                continue
            model = target.form.get("model")
            inputs = sender.inputs + ([model] if model is not None and target.pending is not None else [])
            outputs = [*target.form.values(), *sender.outputs, tabs]
            outputs += [target.pending] if target.pending is not None else []
            sender.button.click(
                _send_fn(sender, target, tabs, len(sender.inputs)), inputs, outputs, api_visibility="private"
            )


def form_updates(form: Mapping[str, Any], values: Mapping[str, Any]) -> dict[Any, Any]:
    """{component: update} setting each form component whose field has a value, leaving the others as they are."""
    return {box: gr.update(value=values[name]) if name in values else gr.update() for name, box in form.items()}


def _send_fn(sender: Sender, target: TargetForm, tabs: gr.Tabs, count: int) -> Callable[..., dict]:
    def send(*args: Any) -> dict:
        values, own = sender.values(*args[:count])
        updates = {**form_updates(target.form, values), **own, tabs: gr.update(selected=target.tab)}
        if target.pending is not None:  # a new model fires its change, which would put its defaults back
            current = args[count] if len(args) > count else None
            changes = "model" in values and values["model"] != current
            updates[target.pending] = {k: v for k, v in values.items() if k in target.form} if changes else {}
        return updates

    return send
