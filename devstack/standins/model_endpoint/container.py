"""The model container, as SageMaker's scikit-learn image runs it: load ``inference.py``
from ``<model_dir>/code``, call ``model_fn`` once, then ``input_fn`` → ``predict_fn`` →
``output_fn`` per request.

Status codes follow the serving toolkit: an unsupported content or accept type is 415, any
other exception 500. ``InvokeEndpoint`` turns either into a ``ModelError`` (see server).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

INFERENCE_SCRIPT = "inference.py"


@dataclass(frozen=True)
class ContainerResponse:
    status: int
    body: bytes
    content_type: str


def load_script(code_dir: Path) -> ModuleType:
    """Import ``code_dir/inference.py`` under a private name (never shadows other modules)."""
    path = code_dir / INFERENCE_SCRIPT
    spec = importlib.util.spec_from_file_location(f"_model_inference_{id(path)}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no {INFERENCE_SCRIPT} in {code_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need their module registered
    spec.loader.exec_module(module)
    for name in ("model_fn", "input_fn", "predict_fn", "output_fn"):
        if not callable(getattr(module, name, None)):
            raise AttributeError(f"{path} does not define {name}()")
    return module


class ModelContainer:
    """The unpacked ``model.tar.gz`` (``model_dir``) with its serving script loaded once."""

    def __init__(self, model_dir: Path, code_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.script = load_script(code_dir or self.model_dir / "code")
        self.model: Any = self.script.model_fn(str(self.model_dir))
        self._lock = threading.Lock()  # scikit-learn estimators are not documented thread-safe

    @property
    def model_version(self) -> str:
        return str(getattr(self.model, "model_version", "unknown"))

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> ContainerResponse:
        unsupported = getattr(self.script, "UnsupportedContentType", ())
        try:
            with self._lock:
                data = self.script.input_fn(body, content_type)
                prediction = self.script.predict_fn(data, self.model)
                result = self.script.output_fn(prediction, accept)
        except Exception as error:  # the toolkit answers every failure with a status
            status = 415 if unsupported and isinstance(error, unsupported) else 500
            return ContainerResponse(status, str(error).encode(), "text/plain")
        if isinstance(result, tuple):  # (body, content type), as the toolkit accepts
            payload, media = result
        else:
            payload, media = result, accept or "application/json"
        data_bytes = payload.encode() if isinstance(payload, str) else bytes(payload)
        return ContainerResponse(200, data_bytes, str(media))
