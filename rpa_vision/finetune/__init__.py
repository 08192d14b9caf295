"""Fine-tuning from the user's confirmations and corrections: examples, adapter, background trainer."""

from rpa_vision.finetune.adapter import Adapter, l2_normalize
from rpa_vision.finetune.examples import Example, ExampleStore
from rpa_vision.finetune.registry import AdapterRegistry
from rpa_vision.finetune.training import TrainConfig, TrainingResult, TrainingSkipped, train_adapter
from rpa_vision.finetune.tuner import FineTuneConfig, FineTuner, FineTuneStatus, RunRecord

__all__ = [
    "Adapter",
    "AdapterRegistry",
    "Example",
    "ExampleStore",
    "FineTuneConfig",
    "FineTuneStatus",
    "FineTuner",
    "RunRecord",
    "TrainConfig",
    "TrainingResult",
    "TrainingSkipped",
    "l2_normalize",
    "train_adapter",
]
