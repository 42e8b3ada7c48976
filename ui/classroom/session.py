from dataclasses import dataclass


@dataclass
class Member:
    code: str
    role: str            # "teacher" | "student"
    token: str = ""      # the teacher's token (never in a URL)
    student: str = ""    # the student's opaque id
    follow: bool = True  # a student follows the teacher's view (toggle)
