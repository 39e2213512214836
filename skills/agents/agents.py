"""agent.run: the engine's agent loop (DESIGN §15), offered as a capability."""
from agentos import provides, run_agent, timeout


@provides("agent.run")
@timeout(1800)
def run(agent: str, task: str, model: str = "") -> dict:
    """Run an agent on a task: it calls the model with the agent's tools until it answers.

    Args:
        agent: the agent's name (agentos agents list)
        task: what the agent should do, with everything it needs to know
        model: a model to use instead of the agent's own
    """
    return run_agent(agent, task, model or None)
