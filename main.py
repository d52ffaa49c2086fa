"""alqa entry point: ``python main.py [overrides]`` or ``python main.py -m [sweep overrides]``."""

import hydra
from omegaconf import DictConfig

from alqa.command_line import COMPOSE_ERRORS


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from alqa.app import run_from_config  # imported late so `--help`/`--cfg` stay fast

    return run_from_config(cfg)


if __name__ == "__main__":
    with COMPOSE_ERRORS:  # Hydra's errors while composing the config: one line, exit 2
        main()
