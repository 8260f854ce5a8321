"""VQAScore (Lin et al. 2024): the probability that a vision-language model answers "Yes" to "Does this figure show
"{prompt}"? Please answer yes or no." about an image, with any transformers image-text-to-text model.

The question and answer are t2v_metrics' defaults (linzhiqiu/t2v_metrics@335e4c2c3452df52e32fe3c583d9458235e7d9e1
t2v_metrics/models/vqascore_models/clip_t5_model.py: default_question_template, default_answer_template). Its own
Qwen2-VL wrapper (same repo @6ecb74f92028f42c7e64546d3a71e98c8c73068f, qwen2vl_model.py) puts the question after the
image in one user turn, applies the processor's chat template with the generation prompt, and encodes the answer
without special tokens; so does this module. It then reads the answer's probability from one greedy generation step
(and, in its newest version, reports a geometric mean over answer tokens); here the answer tokens are teacher-forced
after the generation prompt in one forward pass, and the score is their joint probability
P(a_1..a_k | image, question) = prod_i softmax(logits_{t+i-1})[a_i], the softmax over the whole vocabulary. "Yes" is
one token for the default model, where the two readings agree.

t2v_metrics' own default, CLIP-FlanT5-XXL, is a LLaVA-style model of its own code, not a transformers class, so it
cannot be loaded here. The default is Qwen/Qwen2-VL-2B-Instruct: the smallest VLM t2v_metrics has listed for
VQAScore (qwen2-vl-2b; its current list starts at qwen2.5-vl-3b), a native transformers class
(Qwen2VLForConditionalGeneration, AutoModelForImageTextToText) with a chat template in the repo, 2.2B parameters
(about 4.4 GB in bf16), and images at their own resolution (no fixed square crop). Any other repo with a chat
template loads the same way through `load(model_id)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .scorers import ScorerInfo, check_pairs
from .vqascore_tiny import REPO, load_standin

DEFAULT_MODEL = REPO
QUESTION = 'Does this figure show "{prompt}"? Please answer yes or no.'  # t2v_metrics' default_question_template
ANSWER = "Yes"  # t2v_metrics' default_answer_template
GPU_DTYPE = "bfloat16"  # the default repo's torch_dtype


def answer_probabilities(logits, answer_ids, prompt_length: int) -> np.ndarray:
    """(B,) float64 joint probability of the answer tokens, each read from the logits one position before it.

    logits: (B, prompt_length + k, V) for prompt tokens followed by the k answer tokens `answer_ids`.
    """
    import torch  # lazy: torch

    k = len(answer_ids)
    steps = logits[:, prompt_length - 1 : prompt_length - 1 + k].double()  # (B, k, V): the ones predicting the answer
    log_probs = torch.log_softmax(steps, dim=-1)
    index = torch.as_tensor(answer_ids, device=logits.device).view(1, k, 1).expand(logits.shape[0], k, 1)
    return log_probs.gather(-1, index).squeeze(-1).sum(-1).exp().cpu().numpy()


def question_for(prompt: str, question: str = QUESTION) -> str:
    """The question about one prompt; the prompt goes in as it is (quotes and braces included)."""
    return question.replace("{prompt}", prompt)


def check_question(question: str) -> None:
    if question.count("{prompt}") != 1:
        raise InputError(f"the VQAScore question must contain {{prompt}} exactly once; got {question!r}")


def check_answer(answer: str, answer_ids: list[int]) -> None:
    if not answer.strip() or not answer_ids:
        raise InputError(f"the VQAScore answer must be non-empty text, e.g. 'Yes'; got {answer!r}")


class VQAScorer:
    """VQAScore of a transformers VLM and its processor: N images and N prompts -> (N,) probabilities in (0, 1)."""

    def __init__(self, model, processor, info: ScorerInfo, question: str = QUESTION, answer: str = ANSWER):
        check_question(question)
        self.model, self.processor, self.info = model, processor, info
        self.question, self.answer = question, answer
        self.answer_ids = list(processor.tokenizer.encode(answer, add_special_tokens=False))
        check_answer(answer, self.answer_ids)
        self.processor.tokenizer.padding_side = "left"  # every prompt ends where the answer starts

    def to(self, device) -> VQAScorer:
        self.model.to(device)
        return self

    def chat_text(self, prompt: str) -> str:
        """The chat-templated user turn (image, then the question) with the assistant's generation prompt."""
        content = [{"type": "image"}, {"type": "text", "text": question_for(prompt, self.question)}]
        messages = [{"role": "user", "content": content}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def batch_inputs(self, images: Sequence, prompts: Sequence[str]) -> tuple[dict, int]:
        """Model inputs of chat prompts + answer tokens, and the (left-padded) prompt length."""
        import torch  # lazy: torch

        texts = [self.chat_text(p) for p in prompts]
        batch = dict(
            self.processor(text=texts, images=[im.convert("RGB") for im in images], padding=True, return_tensors="pt")
        )
        ids = batch["input_ids"]  # (B, L)
        length, answer = ids.shape[1], torch.tensor(self.answer_ids, dtype=ids.dtype).expand(ids.shape[0], -1)
        for key, value in batch.items():  # per-token tensors get the answer's k columns: ids, mask 1, types 0
            if torch.is_tensor(value) and value.dim() == 2 and value.shape == ids.shape:
                extra = answer if key == "input_ids" else torch.full_like(answer, int(key == "attention_mask"))
                batch[key] = torch.cat([value, extra.to(value.dtype)], dim=1)
        return batch, length

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        import torch  # lazy: torch

        check_pairs(images, prompts, "VQAScore")
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1; got {batch_size}")
        weight = next(self.model.parameters())  # where the model is and its compute dtype (pixels go in that dtype)
        device, dtype = weight.device, weight.dtype
        scores = []
        for start in range(0, len(images), batch_size):
            batch, length = self.batch_inputs(images[start : start + batch_size], prompts[start : start + batch_size])
            batch = {
                k: v.to(device, dtype) if torch.is_floating_point(v) else v.to(device)
                for k, v in batch.items()
                if torch.is_tensor(v)
            }
            with torch.inference_mode():
                logits = self.model(**batch).logits
            scores.append(answer_probabilities(logits, self.answer_ids, length))
        return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float64)


def scorer_info(model_id: str, standin: bool, seed: int, question: str, answer: str) -> ScorerInfo:
    slug = model_id.lower().replace("/", "-").replace("_", "-")
    return ScorerInfo(
        id=f"standin-vqascore-seed{seed}" if standin else f"vqascore-{slug}",
        name=f"VQAScore ({'tiny stand-in of ' if standin else ''}{model_id})",
        metric="vqascore",
        preprocessing=(
            f"the model's own image processor; chat template with the generation prompt; question {question!r}, "
            f"answer {answer!r} teacher-forced"
        ),
        scale="P(answer | image, question) in (0, 1); product over answer tokens, softmax over the full vocabulary",
        standin=standin,
    )


def load(
    model_id: str | None = None,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    seed: int = 0,
    question: str = QUESTION,
    answer: str = ANSWER,
    dtype: str = "float32",
) -> VQAScorer:
    """VQAScore with `model_id` (default DEFAULT_MODEL) loaded by AutoModelForImageTextToText and AutoProcessor, or
    with the tiny offline stand-in of the default. `dtype` (a key of weights.DTYPES) is the model's compute dtype; the
    probabilities are always computed in float64 from its logits."""
    from transformers import AutoModelForImageTextToText, AutoProcessor  # lazy: transformers

    from .weights import torch_dtype as named_dtype  # lazy: imports torch

    check_question(question)
    model_id, torch_dtype = model_id or DEFAULT_MODEL, named_dtype(dtype, "VQAScore")
    if standin:
        model, processor = load_standin(seed)
        model.to(torch_dtype)
    else:
        processor = AutoProcessor.from_pretrained(model_id, local_files_only=local_files_only)
        if not getattr(processor, "chat_template", None):
            raise InputError(f"{model_id} has no chat template; VQAScore needs a chat VLM (e.g. {DEFAULT_MODEL})")
        model = AutoModelForImageTextToText.from_pretrained(
            model_id, dtype=torch_dtype, local_files_only=local_files_only
        ).eval()  # loaded in `dtype` directly: the default's 2.2B parameters are 8.8 GB in float32
    return VQAScorer(model, processor, scorer_info(model_id, standin, seed, question, answer), question, answer)


__all__ = ["ANSWER", "DEFAULT_MODEL", "QUESTION", "VQAScorer", "answer_probabilities", "load"]
