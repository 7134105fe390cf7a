"""A hall of fame of past interrogators that the models must also fool (``--hall-of-fame``).

Coevolution can cycle: interrogators forget how to catch a flaw once the models lost it,
and the models can bring the flaw back unpunished (Rosin and Belew 1997, who proposed
this remedy). Every ``every`` generations the best interrogator of the generation joins
the hall; each generation ``judges`` of its members, drawn uniformly without replacement
from the run's ``hall-of-fame`` stream, judge every model as the current interrogators
do (one genuine and one model trial per pair), and a model's fitness counts their
judgements like those of current interrogators. The current interrogators' fitness is
unchanged: the hall only keeps the models honest.

The hall is plain data (an array of weights and the generations they joined), so a
checkpoint stores it and a resumed run continues bit-identically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from turing.contracts.seeding import numpy_generator, numpy_state, set_numpy_state


class HallOfFame:
    """The archive of one run.

    Args:
        judges: members that judge the models each generation (all, while fewer).
        every: generations between entries (the best interrogator of every
            ``every``-th generation joins).
        n_weights: weights of one interrogator.
        seed: the run's root seed (the draws use its ``hall-of-fame`` stream).
    """

    def __init__(self, judges: int, every: int, n_weights: int, seed: int):
        self.judges = int(judges)
        self.every = int(every)
        self.members = np.zeros((0, n_weights))
        self.joined = np.zeros(0, dtype=np.int64)
        self.rng = numpy_generator(seed, "hall-of-fame")
        self.drawn = np.zeros((0, n_weights))
        """The members judging this generation (drawn by :meth:`draw`)."""

    def draw(self) -> np.ndarray:
        """This generation's judges ``[k, n_weights]`` (``k = min(judges, members)``)."""
        count = min(self.judges, len(self.members))
        if count == 0:
            self.drawn = self.members[:0]
        else:
            chosen = np.sort(self.rng.choice(len(self.members), size=count, replace=False))
            self.drawn = self.members[chosen]
        return self.drawn

    def consider(self, generation: int, best_weights: np.ndarray) -> None:
        """Adds the generation's best interrogator if ``generation`` (counted from 1) is a
        multiple of ``every``."""
        if generation % self.every == 0:
            self.members = np.vstack([self.members, np.asarray(best_weights)[None]])
            self.joined = np.append(self.joined, generation)

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return (
            {"hall_of_fame": self.members.copy(), "hall_of_fame_joined": self.joined.copy()},
            {"hall_of_fame_rng": numpy_state(self.rng)},
        )

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.members = np.array(arrays["hall_of_fame"], dtype=np.float64).reshape(
            -1, self.members.shape[1]
        )
        self.joined = np.array(arrays["hall_of_fame_joined"], dtype=np.int64)
        set_numpy_state(self.rng, meta["hall_of_fame_rng"])
