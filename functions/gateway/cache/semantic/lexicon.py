"""The words verification reads: what each check compares, and what may differ freely.

Kept apart from the checks so the lists can grow without touching the logic. Every set is
lower case; `canonical` maps a word to the form two requests are compared in.
"""

from __future__ import annotations

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "million": 10**6, "billion": 10**9, "trillion": 10**12, "dozen": 12, "half": 0.5,
    "twice": 2, "double": 2, "triple": 3, "single": 1, "pair": 2, "couple": 2,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "quarter": 0.25,
}  # fmt: skip
"""Number and ordinal words, compared as the numbers they name ("three tips" = "3 tips")."""

ROMAN_NUMERALS = {"ii": 2, "iii": 3, "iv": 4, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "xi": 11}
"""Upper-case Roman numerals ("World War II"); "I", "V" and "X" are too often words."""

UNITS = {
    "km": "km", "kilometer": "km", "kilometre": "km", "mile": "mile", "mi": "mile",
    "meter": "m", "metre": "m", "m": "m", "cm": "cm", "centimeter": "cm",
    "centimetre": "cm", "mm": "mm", "millimeter": "mm", "foot": "ft", "feet": "ft",
    "ft": "ft", "inch": "in", "inches": "in", "yard": "yd", "yd": "yd",
    "celsius": "c", "centigrade": "c", "fahrenheit": "f", "kelvin": "k",
    "gram": "g", "g": "g", "kilogram": "kg", "kg": "kg", "kilo": "kg", "pound": "lb",
    "lb": "lb", "lbs": "lb", "ounce": "oz", "oz": "oz", "ton": "t", "tonne": "t",
    "stone": "st", "liter": "l", "litre": "l", "l": "l", "milliliter": "ml",
    "millilitre": "ml", "ml": "ml", "gallon": "gal", "quart": "qt", "pint": "pt",
    "cup": "cup", "tablespoon": "tbsp", "teaspoon": "tsp",
    "byte": "b", "kilobyte": "kb", "kb": "kb", "megabyte": "mb", "mb": "mb",
    "gigabyte": "gb", "gb": "gb", "terabyte": "tb", "tb": "tb", "bit": "bit",
    "second": "s", "sec": "s", "minute": "min", "min": "min", "hour": "h", "hr": "h",
    "day": "day", "week": "week", "month": "month", "year": "year", "decade": "decade",
    "century": "century", "millisecond": "ms", "ms": "ms",
    "dollar": "usd", "usd": "usd", "$": "usd", "euro": "eur", "eur": "eur", "€": "eur",
    "pound sterling": "gbp", "gbp": "gbp", "£": "gbp", "yen": "jpy", "jpy": "jpy",
    "¥": "jpy", "rupee": "inr", "yuan": "cny", "peso": "peso", "franc": "chf",
    "percent": "%", "%": "%", "degree": "deg", "calorie": "kcal", "kcal": "kcal",
    "joule": "j", "watt": "w", "kw": "kw", "kwh": "kwh", "volt": "v", "amp": "a",
    "hz": "hz", "mph": "mph", "kph": "kph", "knot": "knot", "acre": "acre", "hectare": "ha",
}  # fmt: skip
"""Units of measure, time and currency; singular forms (plurals are reduced first)."""

DATE_WORDS = {
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "weekend", "weekday", "today", "tomorrow", "yesterday", "tonight", "now", "currently",
    "current", "morning", "afternoon", "evening", "night", "noon", "midnight", "dawn",
    "dusk", "spring", "summer", "autumn", "fall", "winter", "last", "this", "next",
    "previous", "latest", "recent", "upcoming", "past", "future", "ago", "later", "early",
    "late", "daily", "weekly", "monthly", "yearly", "annual", "hourly", "christmas",
    "easter", "am", "pm", "utc", "gmt",
}  # fmt: skip
"""Dates, times and the words that move them ("this year" is not "last year")."""

NEGATIONS = {
    "not", "no", "never", "without", "none", "nothing", "nobody", "nowhere", "neither",
    "nor", "cannot", "except", "excluding", "exclude", "lack", "lacking", "free",
    "non", "avoid", "unless", "instead", "rather", "stop", "fail", "false",
}  # fmt: skip
"""Words that turn a request around; "n't" is read as "not"."""

POLAR = {
    "largest": "size+", "biggest": "size+", "big": "size+", "large": "size+",
    "huge": "size+", "greatest": "size+", "maximum": "most+",
    "max": "most+", "smallest": "size-", "small": "size-", "little": "size-",
    "tiny": "size-", "least": "most-", "minimum": "most-", "min": "most-",
    "tallest": "tall+", "highest": "high+", "high": "high+", "higher": "high+",
    "lowest": "high-", "low": "high-", "lower": "high-", "shortest": "long-",
    "longest": "long+", "long": "long+", "longer": "long+", "short": "long-",
    "shorter": "long-", "brief": "long-", "increase": "inc+", "raise": "inc+",
    "grow": "inc+", "boost": "inc+", "improve": "inc+", "decrease": "inc-",
    "reduce": "inc-", "cut": "inc-", "shrink": "inc-",
    "before": "time-", "after": "time+", "first": "first+", "last": "first-",
    "recent": "first-", "earliest": "early-", "oldest": "old+", "old": "old+",
    "older": "old+", "newest": "old-", "new": "old-", "newer": "old-", "young": "old-",
    "youngest": "old-", "ascending": "asc+", "descending": "asc-",
    "including": "inc_+", "include": "inc_+", "inclusive": "inc_+",
    "hottest": "hot+", "hot": "hot+", "warm": "hot+", "warmest": "hot+",
    "coldest": "hot-", "cold": "hot-", "cool": "hot-", "fastest": "fast+", "fast": "fast+",
    "quick": "fast+", "quickest": "fast+", "faster": "fast+", "slowest": "fast-",
    "slow": "fast-", "slower": "fast-", "gain": "gain+", "lose": "gain-",
    "positive": "pos+", "negative": "pos-", "good": "good+", "best": "good+",
    "better": "good+", "bad": "good-", "worst": "good-", "worse": "good-",
    "advantage": "adv+", "benefit": "adv+", "pro": "adv+", "disadvantage": "adv-",
    "drawback": "adv-", "con": "adv-", "downside": "adv-", "risk": "adv-",
    "encrypt": "crypt+", "decrypt": "crypt-", "encode": "code+", "decode": "code-",
    "compress": "zip+", "decompress": "zip-", "true": "true+", "correct": "true+",
    "right": "true+", "wrong": "true-", "incorrect": "true-", "open": "open+",
    "closed": "open-", "close": "open-", "enable": "able+", "disable": "able-",
    "add": "add+", "remove": "add-", "delete": "add-", "buy": "buy+", "sell": "buy-",
    "start": "start+", "begin": "start+", "end": "start-", "finish": "start-",
    "up": "up+", "down": "up-", "upper": "up+", "top": "top+",
    "bottom": "top-", "north": "north", "south": "south", "east": "east", "west": "west",
    "left": "left+", "light": "light+", "dark": "light-",
    "heavy": "heavy+", "lightest": "heavy-", "heaviest": "heavy+", "rich": "rich+",
    "poor": "rich-", "cheap": "cheap+", "cheapest": "cheap+", "expensive": "cheap-",
    "safe": "safe+", "dangerous": "safe-", "unsafe": "safe-", "healthy": "health+",
    "unhealthy": "health-", "win": "win+", "won": "win+", "lost": "win-",
    "accept": "accept+", "reject": "accept-", "decline": "accept-", "allow": "allow+",
    "deny": "allow-", "block": "allow-", "import": "port+", "export": "port-",
    "upload": "load+", "download": "load-", "push": "push+", "pull": "push-",
    "input": "put+", "output": "put-", "send": "send+", "receive": "send-",
    "love": "like+", "like": "like+", "hate": "like-", "dislike": "like-",
    "agree": "agree+", "disagree": "agree-", "support": "agree+", "oppose": "agree-",
    "success": "succ+", "failure": "succ-", "strong": "strong+", "weak": "strong-",
    "easy": "easy+", "easiest": "easy+", "hard": "easy-", "difficult": "easy-",
    "hardest": "easy-", "simple": "easy+", "complex": "easy-", "complicated": "easy-",
    "maximize": "most+", "minimize": "most-", "more": "more+", "less": "more-",
    "fewer": "more-", "few": "many-", "all": "all+", "some": "all-",
    "any": "any", "every": "all+", "each": "all+", "inside": "in+", "outside": "in-",
    "internal": "in+", "external": "in-", "above": "above+", "below": "above-",
    "over": "above+", "under": "above-", "happy": "happy+", "sad": "happy-",
    "formal": "formal+", "casual": "formal-", "informal": "formal-", "polite": "polite+",
    "rude": "polite-", "friendly": "friendly+", "angry": "friendly-",
    "amazing": "good+", "great": "good+", "excellent": "good+", "terrible": "good-",
    "awful": "good-", "horrible": "good-", "dim": "light-", "bright": "light+",
    "thin": "thick-", "thick": "thick+", "wide": "wide+", "narrow": "wide-",
    "deep": "deep+", "shallow": "deep-", "wet": "wet+", "dry": "wet-",
    "male": "male+", "female": "male-", "men": "male+", "women": "male-", "man": "male+",
    "woman": "male-", "boy": "male+", "girl": "male-", "adult": "age+", "child": "age-",
    "kid": "age-", "beginner": "level-", "expert": "level+", "advanced": "level+",
    "basic": "level-", "intermediate": "level", "senior": "level+", "junior": "level-",
    "synchronous": "sync+", "asynchronous": "sync-",
    "sync": "sync+", "async": "sync-", "public": "public+", "private": "public-",
    "static": "static+", "dynamic": "static-", "global": "global+", "local": "global-",
    "mutable": "mutable+", "immutable": "mutable-", "lowercase": "case-",
    "uppercase": "case+", "vertical": "vert+", "horizontal": "vert-",
    "horizontally": "vert-", "vertically": "vert+", "odd": "odd+", "even": "odd-",
    "prime": "prime", "sum": "sum", "product": "product", "average": "mean",
    "mean": "mean", "median": "median", "mode": "mode", "plus": "op+", "minus": "op-",
    "times": "op*", "divided": "op/", "multiply": "op*", "divide": "op/",
    "subtract": "op-", "cheaper": "cheap+",
}  # fmt: skip
"""Polar words, each with the pole it names: two requests must name the same poles."""

LANGUAGES = {
    "python", "rust", "go", "golang", "java", "javascript", "js", "typescript", "ts",
    "swift", "kotlin", "c", "c++", "cpp", "c#", "csharp", "f#", "ruby", "php", "perl",
    "scala", "haskell", "elixir", "erlang", "clojure", "lua", "r", "matlab", "julia",
    "dart", "bash", "shell", "sh", "zsh", "powershell", "sql", "mysql", "postgres",
    "postgresql", "sqlite", "pandas", "numpy", "html", "css", "sass", "react", "vue",
    "angular", "svelte", "django", "flask", "fastapi", "node", "nodejs", "deno", "rails",
    "spring", "jquery", "assembly", "fortran", "cobol", "pascal", "objective-c", "vba",
    "excel", "pip", "npm", "yarn", "pnpm", "conda", "cargo", "maven", "gradle", "git",
    "svn", "mercurial", "docker", "kubernetes", "terraform", "ansible", "linux",
    "windows", "macos", "mac", "ios", "android", "ubuntu", "debian", "regex", "graphql",
    "english", "french", "spanish", "german", "italian", "portuguese", "dutch",
    "russian", "chinese", "mandarin", "cantonese", "japanese", "korean", "arabic",
    "hindi", "bengali", "turkish", "polish", "greek", "hebrew", "swedish", "norwegian",
    "danish", "finnish", "latin", "vietnamese", "thai", "indonesian", "ukrainian",
    "czech", "hungarian", "romanian", "persian", "urdu", "swahili",
}  # fmt: skip
"""Programming and natural languages, and the tools that stand for one."""

FORMATS = {
    "json", "yaml", "xml", "csv", "tsv", "markdown", "html", "table", "bullet",
    "bulleted", "numbered", "paragraph", "sentence", "word", "line", "page", "essay",
    "email", "letter", "memo", "report", "summary", "outline", "poem", "haiku",
    "limerick", "sonnet", "song", "lyric", "story", "joke", "tweet", "post", "slogan",
    "tagline", "headline", "title", "script", "dialogue", "diagram", "chart", "code",
    "pseudocode", "snippet", "detailed", "concise",
    "verbose", "brief", "tldr", "eli5", "phd", "expert", "kid", "child", "professional",
    "funny", "humorous", "serious", "sarcastic", "rhyming", "character", "syllable",
    "emoji", "uppercase", "lowercase", "plain", "text", "pdf", "latex", "regex",
    "review", "bio", "biography", "recipe", "quiz",
}  # fmt: skip
"""Output formats, genres, lengths and audiences: a haiku is not a limerick."""

ORDER_MARKERS = {
    "to", "into", "from", "vs", "versus", "than", "cause", "causes", "caused", "affect",
    "affects", "before", "after", "over", "against", "onto", "toward", "towards",
    "between", "and", "or",
}  # fmt: skip
"""Words around which the order of the things named changes the question."""

FREE_WORDS = {
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "do",
    "does", "did", "doing", "done", "have", "has", "had", "having", "i", "me", "my",
    "mine", "myself", "we", "us", "our", "you", "your", "yours", "it", "its", "they",
    "them", "their", "he", "she", "his", "her", "him", "that", "these",
    "those", "there", "here", "what", "which", "who", "whom", "whose", "where",
    "how", "whats", "of", "in", "on", "at", "by", "for", "with", "about", "as",
    "through", "per", "via", "out", "off", "can", "could", "would",
    "will", "shall", "might", "must", "please", "kindly", "thanks",
    "thank", "hi", "hello", "hey", "hiya", "dear", "tell", "explain", "describe",
    "show", "give", "share", "provide", "help", "let", "know", "understand", "want",
    "wondering", "wonder", "curious", "need", "able", "way", "ways",
    "steps", "method", "approach", "usual", "usually", "typically",
    "generally", "exactly", "actually", "really", "just", "simply", "so",
    "also", "too", "very", "quite", "then", "well", "ok", "okay",
    "yes", "question", "advance", "get", "got",
    "possible", "someone", "something", "anyone", "anything", "thing",
    "things", "kind", "type", "sure", "mind", "wanted", "if", "whether",
    "say", "called", "call", "term", "mean", "means", "meaning", "define",
    "definition", "stand", "stands", "overview", "basics",
    "understanding", "much", "going",
    "ever", "again", "still", "already", "yet", "own", "such", "other",
    "another", "same", "different", "difference", "differ", "differs",
    "compare", "comparison", "find", "learn", "look",
    "looks", "looking", "seem", "appear", "make", "makes", "made", "to", "into", "from", "vs",
    "versus", "than", "onto", "toward", "towards", "and", "or", "between", "write", "compose",
    "create", "generate", "produce", "draft", "list", "name", "enumerate",
}  # fmt: skip
"""Framing and function words, which may differ between paraphrases.

Only words that carry no meaning of their own in a request: every other check still reads
all the words, so a word listed here and in another list is compared by that list.
"""

SYNONYMS = {
    "biggest": "largest", "big": "large", "bigger": "larger", "tallest": "highest",
    "tall": "height", "height": "height", "author": "write",
    "writer": "write", "wrote": "write", "written": "write", "writes": "write",
    "compose": "write", "draft": "write", "create": "make", "build": "make",
    "construct": "make", "generate": "make", "produce": "make", "revert": "undo",
    "rollback": "undo", "recent": "last",
    "world": "world", "earth": "world", "globe": "world", "advantages": "advantage",
    "benefit": "advantage", "pros": "advantage", "upside": "advantage",
    "disadvantages": "disadvantage", "cons": "disadvantage", "drawback": "disadvantage",
    "downside": "disadvantage", "symptom": "symptom", "sign": "symptom",
    "influenza": "flu", "people": "population", "inhabitants": "population",
    "populace": "population", "live": "population", "distance": "far", "far": "far",
    "speed": "fast", "fast": "fast", "quickly": "fast", "velocity": "fast",
    "suggest": "recommend", "propose": "recommend", "recommendation": "recommend",
    "advise": "recommend", "list": "list", "enumerate": "list",
    "artist": "paint", "painter": "paint", "painted": "paint", "discoverer": "discover",
    "discovered": "discover", "inventor": "invent", "invented": "invent",
    "cause": "cause", "causes": "cause", "form": "cause", "forms": "cause",
    "why": "cause", "reason": "cause", "happen": "cause", "occur": "cause",
    "temperature": "temperature", "boil": "boil", "boiling": "boil",
    "city": "city", "capital": "capital", "adult": "adult", "human": "human",
    "body": "human", "summarize": "summary", "summarise": "summary", "summary": "summary",
    "recap": "summary", "regularly": "regular", "frequently": "often",
    "frequent": "often", "consistently": "regular", "consistent": "regular",
    "often": "often", "lot": "many", "lots": "many", "numerous": "many",
    "tip": "tip", "advice": "tip", "hint": "tip", "exercise": "exercise",
    "exercising": "exercise", "workout": "exercise", "prevent": "stop",
    "responsive": "responsive", "laggy": "slow", "sluggish": "slow", "makes": "make",
    "bakery": "bakery", "followers": "audience", "follower": "audience",
    "audience": "audience", "own": "own", "run": "run", "manage": "run",
    "owner": "run", "operate": "run", "grow": "grow", "growth": "grow",
    "burn": "burn", "burnout": "burn", "tired": "burn",
    "kinds": "type", "types": "type", "sorts": "type",
    "post": "post", "posting": "post", "posts": "post", "picture": "image",
    "photo": "image", "pic": "image", "image": "image",
    "commence": "start", "conclude": "end", "repair": "fix",
    "fix": "fix", "purchase": "buy", "acquire": "buy", "utilize": "use", "employ": "use",
    "assist": "help", "aid": "help", "display": "show", "demonstrate": "show",
    "illustrate": "show", "attempt": "try", "require": "need", "requires": "need",
    "necessary": "need", "obtain": "get", "retrieve": "get", "fetch": "get",
    "modify": "change", "alter": "change", "edit": "change",
    "update": "change", "erase": "delete", "purpose": "goal", "aim": "goal",
    "objective": "goal", "job": "work", "occupation": "work", "profession": "work",
    "car": "car", "automobile": "car", "vehicle": "car", "kids": "child",
    "children": "child", "dad": "father", "mom": "mother", "mum": "mother",
    "doctor": "doctor", "physician": "doctor", "movie": "film", "film": "film",
    "cost": "price", "costs": "price", "price": "price", "expense": "price",
    "house": "home", "home": "home", "dwelling": "home",
}  # fmt: skip
"""Common words with the same meaning, mapped to one; only general-purpose pairs, so no
word that a check above reads is folded away here."""
