"""Scoring a run's rows: creating an evaluation and its chunks, the chunk a worker scores, the
summary once every chunk is done. The kinds themselves are in evaluation/kinds/."""
