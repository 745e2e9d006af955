-- The model pass of video analysis (issue 7, step 4): two more analysis steps, `transcript` (speech to text)
-- and `vision` (keyframes to structured findings), each kept in video_steps like the measured ones, and
-- their model calls accounted in llm_usage. A transcription is billed by audio duration, not tokens:
-- `audio_seconds` says how much audio a call sent (null for chat calls).

alter table public.video_steps drop constraint video_steps_step_check;
alter table public.video_steps add constraint video_steps_step_check
  check (step in ('probe', 'scan', 'transcript', 'vision', 'insights'));

alter table public.llm_usage drop constraint llm_usage_purpose_check;
alter table public.llm_usage add constraint llm_usage_purpose_check
  check (purpose in ('phrase', 'ask', 'rank', 'video_transcript', 'video_vision'));
alter table public.llm_usage add column audio_seconds numeric(10, 3) check (audio_seconds >= 0);
